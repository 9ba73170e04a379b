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
{{- end }}
