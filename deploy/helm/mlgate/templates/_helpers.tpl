{{/* Name of the chart's objects. */}}
{{- define "mlgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mlgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mlgate.labels" -}}
{{ include "mlgate.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mlgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mlgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The grace period: the value, else drain + shutdown + 10 s. */}}
{{- define "mlgate.grace" -}}
{{- $min := add .Values.serve.drainDelaySeconds .Values.serve.shutdownTimeoutSeconds -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $min 10 -}}
{{- else if le (int .Values.terminationGracePeriodSeconds) (int $min) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed serve.drainDelaySeconds + serve.shutdownTimeoutSeconds (%v)" .Values.terminationGracePeriodSeconds $min) -}}
{{- else -}}
{{- .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* The model URI: the given one, else the model baked into the image. */}}
{{- define "mlgate.modelURI" -}}
{{- default "/opt/ml/model" .Values.model.uri -}}
{{- end -}}

{{/* A models:/ URI that moves: an alias, a stage or latest (not a number). */}}
{{- define "mlgate.movingURI" -}}
{{- $u := .Values.model.uri -}}
{{- if and (hasPrefix "models:/" $u) (or (contains "@" $u) (not (regexMatch "^models:/[^/]+/[0-9]+$" $u))) -}}
true
{{- end -}}
{{- end -}}
