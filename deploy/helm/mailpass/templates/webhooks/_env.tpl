{{- define "mailpass.webhooks.env" }}
- name: MANAGEMENT_PORT
  value: {{ .Values.webhooks.containerPorts.management | quote }}
{{- end }}
