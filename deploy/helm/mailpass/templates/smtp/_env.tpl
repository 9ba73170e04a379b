{{- define "mailpass.smtp.env" }}
- name: MANAGEMENT_PORT
  value: {{ .Values.smtp.containerPorts.management | quote }}
- name: SMTP_HOST
  value: "0.0.0.0"
- name: SMTP_SUBMISSION_PORT
  value: {{ .Values.smtp.containerPorts.submission | quote }}
- name: SMTP_SUBMISSIONS_PORT
  value: {{ .Values.smtp.containerPorts.submissions | quote }}
- name: SMTP_TLS_CERT_FILE
  value: /etc/mailpass/smtp-tls/tls.crt
- name: SMTP_TLS_KEY_FILE
  value: /etc/mailpass/smtp-tls/tls.key
{{- with .Values.smtp.hostname }}
- name: SMTP_HOSTNAME
  value: {{ . | quote }}
{{- end }}
- name: SMTP_MAX_RECIPIENTS
  value: {{ .Values.smtp.maxRecipients | quote }}
- name: SMTP_AUTH_FAILURES
  value: {{ .Values.smtp.authFailures | quote }}
- name: SMTP_AUTH_FAILURE_WINDOW_SECONDS
  value: {{ .Values.smtp.authFailureWindowSeconds | quote }}
- name: SMTP_MAX_CONNECTIONS_PER_CLIENT
  value: {{ .Values.smtp.maxConnectionsPerClient | quote }}
- name: SMTP_SHUTDOWN_GRACE_SECONDS
  value: {{ sub .Values.smtp.terminationGracePeriodSeconds 5 | quote }}
{{- end }}
