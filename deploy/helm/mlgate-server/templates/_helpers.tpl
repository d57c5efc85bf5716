{{/* Name of the chart's objects. */}}
{{- define "mlgate-server.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mlgate-server.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mlgate-server.labels" -}}
{{ include "mlgate-server.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mlgate-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mlgate-server.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}


{{/* --allowed-hosts: security.allowedHosts, or the Service's names, loopback
and the private ranges (MLflow's defaults, written as patterns), plus
security.extraAllowedHosts (an Ingress host, say). */}}
{{- define "mlgate-server.allowedHosts" -}}
{{- if .Values.security.allowedHosts -}}
{{- .Values.security.allowedHosts -}}
{{- else -}}
{{- $svc := include "mlgate-server.fullname" . -}}
{{- $hosts := list -}}
{{- range $n := list $svc (printf "%s.%s" $svc $.Release.Namespace) (printf "%s.%s.svc" $svc $.Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc $.Release.Namespace) "localhost" "127.0.0.1" "[[]::1]" -}}
{{- $hosts = concat $hosts (list $n (printf "%s:*" $n)) -}}
{{- end -}}
{{- $hosts = concat $hosts (list "10.*" "172.1[6-9].*" "172.2[0-9].*" "172.3[01].*" "192.168.*" "fc00:*" "fd00:*") -}}
{{- with .Values.security.extraAllowedHosts }}{{ $hosts = concat $hosts . }}{{ end -}}
{{- join "," $hosts -}}
{{- end -}}
{{- end -}}
