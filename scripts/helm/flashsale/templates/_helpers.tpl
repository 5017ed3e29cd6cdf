{{/*
The prefix of every object's name: fullnameOverride, or the release's name.
*/}}
{{- define "flashsale.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
The labels every object carries besides its selector's (flashsale.labels
adds the name and the instance for objects without one).
*/}}
{{- define "flashsale.commonLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The labels of an object that belongs to no one component.
*/}}
{{- define "flashsale.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "flashsale.commonLabels" . }}
{{- end -}}

{{/*
The labels that select one component's pods: (dict "root" $ "component" NAME).
A dtm group's pods carry their group too (flashsale.groupSelector).
*/}}
{{- define "flashsale.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
The labels that select one dtm group's pods: (dict "root" $ "group" NAME).
*/}}
{{- define "flashsale.groupSelector" -}}
{{ include "flashsale.selector" (dict "root" .root "component" "dtm") }}
flashsale/dtm-group: {{ .group }}
{{- end -}}

{{/*
The image of every container.
*/}}
{{- define "flashsale.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The Secret the services' secrets come from.
*/}}
{{- define "flashsale.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "flashsale.fullname" .)) -}}
{{- end -}}

{{/*
One environment variable from a key of the Secret: (dict "root" $ "name" VAR "key" KEY).
*/}}
{{- define "flashsale.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "flashsale.secretName" .root }}
      key: {{ .key }}
{{- end -}}

{{/*
The in-cluster host of one of the chart's Services: (dict "root" $ "name" SUFFIX).
*/}}
{{- define "flashsale.host" -}}
{{ include "flashsale.fullname" .root }}-{{ .name }}.{{ .root.Release.Namespace }}.svc
{{- end -}}

{{/*
DTM_SERVER: every dtm group's API base, in the order of dtm.groups.
*/}}
{{- define "flashsale.dtmServer" -}}
{{- $root := . -}}
{{- $urls := list -}}
{{- range .Values.dtm.groups -}}
{{- $urls = append $urls (printf "http://%s:36789/api/dtmsvr" (include "flashsale.host" (dict "root" $root "name" (printf "dtm-%s" .name)))) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/*
The environment flashsale and orders share: the dtm groups, the order
service's and flashsale's internal URLs (the Services, as dtm calls them),
the internal key and the MySQL DSN.
*/}}
{{- define "flashsale.sharedEnv" -}}
- name: DTM_SERVER
  value: {{ include "flashsale.dtmServer" . | quote }}
- name: ORDERS_URL
  value: {{ printf "http://%s:8090" (include "flashsale.host" (dict "root" . "name" "orders")) | quote }}
- name: FLASHSALE_INTERNAL_URL
  value: {{ printf "http://%s:8082" (include "flashsale.host" (dict "root" . "name" "flashsale-internal")) | quote }}
{{ include "flashsale.secretEnv" (dict "root" . "name" "MYSQL_DSN" "key" "mysql-dsn") }}
{{ include "flashsale.secretEnv" (dict "root" . "name" "FLASHSALE_INTERNAL_KEY" "key" "internal-key") }}
{{- end -}}

{{/*
The pod settings every component shares: the pull secrets, the security
context, the grace period, the node selector and the tolerations.
*/}}
{{- define "flashsale.podSpec" -}}
automountServiceAccountToken: false
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.pod.securityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.pod.terminationGracePeriodSeconds }}
{{- with .Values.pod.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.pod.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: work
    emptyDir: {}
  - name: tmp
    emptyDir: {}
{{- end -}}

{{/*
What every container shares: the image, its security context and the two
writable directories.
*/}}
{{- define "flashsale.container" -}}
image: {{ include "flashsale.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.pod.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: work
    mountPath: /var/lib/flashsale
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/*
The probes of a container: (dict "root" $ "port" NAME "ready" PATH "live" PATH).
*/}}
{{- define "flashsale.probes" -}}
readinessProbe:
  httpGet:
    path: {{ .ready }}
    port: {{ .port }}
  {{- toYaml .root.Values.probes.readiness | nindent 2 }}
livenessProbe:
  httpGet:
    path: {{ .live }}
    port: {{ .port }}
  {{- toYaml .root.Values.probes.liveness | nindent 2 }}
{{- end -}}

{{/*
The pod template's annotations: the Secret's checksum (a changed secret
rolls the pods) and pod.annotations.
*/}}
{{- define "flashsale.podAnnotations" -}}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.pod.annotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
