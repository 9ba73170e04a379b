{{- define "mailpass.sender.env" }}
- name: MANAGEMENT_PORT
  value: {{ .Values.sender.containerPorts.management | quote }}
{{- end }}
