{{/* The gateway binds every interface in its pod; its workers share metrics on disk. */}}
{{- define "mailpass.gateway.env" }}
- name: GATEWAY_HOST
  value: "0.0.0.0"
- name: GATEWAY_PORT
  value: {{ .Values.gateway.containerPorts.http | quote }}
- name: MANAGEMENT_PORT
  value: {{ .Values.gateway.containerPorts.management | quote }}
- name: GATEWAY_WORKERS
  value: {{ .Values.gateway.workers | quote }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: /tmp/metrics
{{- with .Values.config.trackerTrustedProxies }}
{{- /* The ingress controller's X-Forwarded-For names the client (console sign-in limits). */}}
- name: FORWARDED_ALLOW_IPS
  value: {{ join "," . | quote }}
{{- end }}
{{- $console := .Values.gateway.console }}
{{- with $console.publicUrl }}
- name: CONSOLE_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- with $console.mailAccount }}
- name: CONSOLE_MAIL_ACCOUNT
  value: {{ . | quote }}
{{- end }}
{{- with $console.oidc }}
{{- if .issuer }}
{{- /* Sign-in through the organisation's OpenID provider (the client secret comes from the Secret). */}}
- name: CONSOLE_OIDC_ISSUER
  value: {{ .issuer | quote }}
- name: CONSOLE_OIDC_CLIENT_ID
  value: {{ required "gateway.console.oidc.clientId is required with gateway.console.oidc.issuer" .clientId | quote }}
- name: CONSOLE_OIDC_NAME
  value: {{ .name | quote }}
- name: CONSOLE_OIDC_SCOPES
  value: {{ .scopes | quote }}
- name: CONSOLE_OIDC_GROUP_CLAIM
  value: {{ .groupClaim | quote }}
{{- with .groupRoles }}
- name: CONSOLE_OIDC_GROUP_ROLES
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
