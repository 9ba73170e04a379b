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
{{- end }}
