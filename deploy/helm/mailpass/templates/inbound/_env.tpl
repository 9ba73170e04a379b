{{- /* The container listens on a high port (the pod runs as uid 10001 without
NET_BIND_SERVICE); the Service maps 25 to it. */}}
{{- define "mailpass.inbound.env" }}
- name: MANAGEMENT_PORT
  value: {{ .Values.inbound.containerPorts.management | quote }}
- name: INBOUND_SMTP_HOST
  value: "0.0.0.0"
- name: INBOUND_SMTP_PORT
  value: {{ .Values.inbound.containerPorts.smtp | quote }}
- name: INBOUND_MAX_MESSAGE_BYTES
  value: {{ .Values.inbound.maxMessageBytes | int64 | quote }}
- name: INBOUND_MAX_RECIPIENTS
  value: {{ .Values.inbound.maxRecipients | quote }}
- name: INBOUND_MAX_CONNECTIONS
  value: {{ .Values.inbound.maxConnections | quote }}
- name: INBOUND_MAX_CONNECTIONS_PER_ADDRESS
  value: {{ .Values.inbound.maxConnectionsPerAddress | quote }}
- name: INBOUND_MESSAGES_PER_MINUTE_PER_ADDRESS
  value: {{ .Values.inbound.messagesPerMinutePerAddress | quote }}
{{- with .Values.inbound.hostname }}
- name: INBOUND_HOSTNAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.inbound.tls.secretName }}
- name: INBOUND_TLS_CERT_FILE
  value: /etc/mailpass/inbound-tls/tls.crt
- name: INBOUND_TLS_KEY_FILE
  value: /etc/mailpass/inbound-tls/tls.key
{{- end }}
{{- end }}
