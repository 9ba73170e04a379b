{{/*
Names, labels and the image. Component helpers take (dict "context" $ "component" NAME)
where NAME is the values key (gateway, sender, tracker, webhooks, smtp, scheduler, dbInit); objects and
labels use its kebab-case form (db-init).
*/}}

{{- define "mailpass.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mailpass.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>; 52 characters at most, so a CronJob's Jobs still fit in 63. */}}
{{- define "mailpass.componentName" -}}
{{- printf "%s-%s" (include "mailpass.fullname" .context) (kebabcase .component) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "mailpass.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mailpass.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ kebabcase . }}
{{- end }}
{{- end -}}

{{/* Labels of every object; component is "" for the shared ones (Secret, ConfigMap...). */}}
{{- define "mailpass.labels" -}}
{{- $root := .context -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mailpass.selectorLabels" . }}
app.kubernetes.io/version: {{ default $root.Chart.AppVersion $root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: mailpass
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations and an optional extra map, or nothing
when both are empty (so call sites wrap it in a `with`). */}}
{{- define "mailpass.annotations" -}}
{{- $all := merge (deepCopy (default dict .extra)) .context.Values.commonAnnotations -}}
{{- with $all -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* The component's image: its own fields, falling back to .Values.image; global.imageRegistry wins. */}}
{{- define "mailpass.image" -}}
{{- $root := .context -}}
{{- $own := (index $root.Values .component).image | default dict -}}
{{- $image := merge (deepCopy $own) $root.Values.image -}}
{{- $ref := printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- $registry := default $image.registry ($root.Values.global).imageRegistry -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" $registry $ref -}}
{{- end -}}
{{- if $image.digest -}}
{{- $ref = printf "%s@%s" $ref $image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{- define "mailpass.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mailpass.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mailpass.secretName" -}}
{{- default (include "mailpass.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "mailpass.configMapName" -}}
{{- printf "%s-config" (include "mailpass.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* TRACKER_BASE_URL: the configured one, else the ingress host. */}}
{{- define "mailpass.trackerBaseUrl" -}}
{{- if .Values.config.trackerBaseUrl -}}
{{- .Values.config.trackerBaseUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hostname -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.hostname -}}
{{- end -}}
{{- end -}}

{{- define "mailpass.messageIdDomain" -}}
{{- if .Values.config.messageIdDomain -}}
{{- .Values.config.messageIdDomain -}}
{{- else if .Values.ingress.enabled -}}
{{- .Values.ingress.hostname -}}
{{- end -}}
{{- end -}}

{{/* A NetworkPolicy egress rule to {to: [peers], ports: [numbers]}; no peers: any address. */}}
{{- define "mailpass.egressRule" -}}
- ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The long-running services (a Deployment each, with Service, PDB, HPA, monitor):
mailpass-inbound and SMTP submission (mailpass-smtp) only when enabled. A JSON list:
include ... | fromJsonArray. */}}
{{- define "mailpass.services" -}}
{{- $services := list "gateway" "sender" "tracker" "webhooks" -}}
{{- if .Values.inbound.enabled }}{{ $services = append $services "inbound" }}{{ end -}}
{{- if .Values.smtp.enabled }}{{ $services = append $services "smtp" }}{{ end -}}
{{- toJson $services -}}
{{- end -}}
