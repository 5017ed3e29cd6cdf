package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/flashsale/flashsale/flashsale"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

// maxBody bounds every JSON body; larger ones get 413 too_large.
const maxBody = 64 << 10

// decodeBody reads c's JSON body into v. An empty body leaves v as it is
// when allowEmpty; unknown fields are ignored (a shopper's quantity, price or
// user id never reaches a decision).
func decodeBody(c *gin.Context, v any, allowEmpty bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return contract.Errorf(contract.ETooLarge, "the body is larger than %d bytes", maxBody)
	}
	if err != nil {
		return contract.Errorf(contract.EBadRequest, "cannot read the body")
	}
	if len(strings.TrimSpace(string(body))) == 0 && allowEmpty {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return contract.Errorf(contract.EBadRequest, "the body is not the expected JSON object")
	}
	return nil
}

// pathID parses the positive decimal id in path parameter name.
func pathID(c *gin.Context, name string) (int64, error) {
	s := c.Param(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || len(s) > 19 || s[0] == '+' {
		return 0, contract.Errorf(contract.ENotFound, "no such %s", name)
	}
	return id, nil
}

// pathActivity returns the activity named by the path parameter id, or an
// Error with code ENotFound (or the store's error).
func pathActivity(c *gin.Context, cat flashsale.Catalog) (flashsale.Activity, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return flashsale.Activity{}, err
	}
	return cat.Activity(c, id)
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// shopper authenticates the request's bearer token.
func shopper(c *gin.Context, tokens TokenVerifier) (string, error) {
	t := bearer(c)
	if t == "" {
		return "", contract.Errorf(contract.EUnauthorized, "a bearer token is required")
	}
	return tokens.UserID(t)
}

// shopperActivity authenticates the shopper and finds the activity of the
// path, in that order (a 401 before a 404).
func shopperActivity(c *gin.Context, tokens TokenVerifier, cat flashsale.Catalog) (string, flashsale.Activity, error) {
	user, err := shopper(c, tokens)
	if err != nil {
		return "", flashsale.Activity{}, err
	}
	a, err := pathActivity(c, cat)
	return user, a, err
}
