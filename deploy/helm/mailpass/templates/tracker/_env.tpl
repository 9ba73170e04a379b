{{- define "mailpass.tracker.env" }}
- name: TRACKER_HOST
  value: "0.0.0.0"
- name: TRACKER_PORT
  value: {{ .Values.tracker.containerPorts.http | quote }}
- name: MANAGEMENT_PORT
  value: {{ .Values.tracker.containerPorts.management | quote }}
{{- end }}
