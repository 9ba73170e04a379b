{{- define "mailpass.sender.env" }}
- name: MANAGEMENT_PORT
  value: {{ .Values.sender.containerPorts.management | quote }}
{{- with .Values.mta }}
{{- if .enabled }}
{{- if not $.Values.config.mtaReturnPathDomain }}
{{- fail "mta.enabled needs config.mtaReturnPathDomain (MTA_RETURN_PATH_DOMAIN), the domain of the signed return paths, whose MX is mailpass-inbound" }}
{{- end }}
{{- if not .heloHostname }}
{{- fail "mta.enabled needs mta.heloHostname (MTA_HELO_HOSTNAME), the name the sender greets receiving servers with" }}
{{- end }}
- name: MTA_HELO_HOSTNAME
  value: {{ .heloHostname | quote }}
- name: MTA_DNS_NAMESERVERS
  value: {{ join "," .dnsNameservers | quote }}
- name: MTA_MAX_CONNECTIONS_PER_HOST
  value: {{ .maxConnectionsPerHost | quote }}
- name: MTA_MAX_MESSAGES_PER_CONNECTION
  value: {{ .maxMessagesPerConnection | quote }}
- name: MTA_BACKOFF_SECONDS
  value: {{ .backoffSeconds | quote }}
{{- end }}
{{- end }}
{{- end }}
