// Command child is the process the package's tests start:
//
//	child serve ADDR DELAY   after DELAY, answer 200 at http://ADDR/ready
//	child tick               print "tick N" every 20 ms
//	child second FILE ADDR   the first time (no FILE), make FILE and exit 1; then serve ADDR
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	switch os.Args[1] {
	case "serve":
		d, _ := time.ParseDuration(os.Args[3])
		time.Sleep(d)
		serve(os.Args[2])
	case "tick":
		for i := 0; ; i++ {
			fmt.Println("tick", i)
			time.Sleep(20 * time.Millisecond)
		}
	case "second":
		if _, err := os.Stat(os.Args[2]); err != nil {
			os.WriteFile(os.Args[2], nil, 0o644)
			fmt.Println("first start: failing")
			os.Exit(1)
		}
		serve(os.Args[3])
	}
}

func serve(addr string) {
	http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {})
	fmt.Println("serving", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
}
