{{/*
The pod and container pieces every workload shares (Deployments, the CronJob, the hook
Job). All take (dict "context" $ "component" NAME).
*/}}

{{/* Which Secret keys each component gets: only what it uses (SECRET_KEY everywhere,
since production settings refuse to start without it). */}}
{{- define "mailpass.secretEnvNames" -}}
{{- $names := dict
  "gateway" (list "SECRET_KEY" "SECRET_KEY_PREVIOUS" "MONGODB_URL" "AMQP_URL" "ADMIN_API_TOKEN" "CONSOLE_OIDC_CLIENT_SECRET")
  "sender" (list "SECRET_KEY" "SECRET_KEY_PREVIOUS" "MONGODB_URL" "AMQP_URL")
  "tracker" (list "SECRET_KEY" "SECRET_KEY_PREVIOUS" "MONGODB_URL")
  "webhooks" (list "SECRET_KEY" "SECRET_KEY_PREVIOUS" "MONGODB_URL" "AMQP_URL")
  "inbound" (list "SECRET_KEY" "SECRET_KEY_PREVIOUS" "MONGODB_URL")
  "smtp" (list "SECRET_KEY" "MONGODB_URL" "AMQP_URL")
  "scheduler" (list "SECRET_KEY" "MONGODB_URL" "AMQP_URL")
  "dbInit" (list "SECRET_KEY" "MONGODB_URL") -}}
{{- toJson (index $names .component) -}}
{{- end -}}

{{- define "mailpass.env" -}}
{{- $root := .context -}}
{{- $values := index $root.Values .component -}}
{{- $existing := $root.Values.secrets.existingSecret -}}
{{- $keys := dict
  "SECRET_KEY" $root.Values.secrets.existingSecretKeys.secretKey
  "SECRET_KEY_PREVIOUS" $root.Values.secrets.existingSecretKeys.secretKeyPrevious
  "MONGODB_URL" $root.Values.secrets.existingSecretKeys.mongodbUrl
  "AMQP_URL" $root.Values.secrets.existingSecretKeys.amqpUrl
  "ADMIN_API_TOKEN" $root.Values.secrets.existingSecretKeys.adminApiToken
  "CONSOLE_OIDC_CLIENT_SECRET" $root.Values.secrets.existingSecretKeys.consoleOidcClientSecret -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- range $name := include "mailpass.secretEnvNames" . | fromJsonArray }}
{{- $external := include "mailpass.externalUrl" (dict "context" $root "name" $name) }}
{{- if $external }}
{{- $external }}
{{- else }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "mailpass.secretName" $root }}
      key: {{ ternary (index $keys $name) $name (ne $existing "") }}
      {{- if has $name (list "SECRET_KEY_PREVIOUS" "ADMIN_API_TOKEN" "CONSOLE_OIDC_CLIENT_SECRET") }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "mailpass-%s" (kebabcase .component) }}
- name: OTEL_RESOURCE_ATTRIBUTES
  {{- $attributes := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" (printf "service.version=%s" (default $root.Chart.AppVersion $root.Values.image.tag)) }}
  {{- range $key, $value := $root.Values.opentelemetry.resourceAttributes }}
  {{- $attributes = append $attributes (printf "%s=%v" $key $value) }}
  {{- end }}
  value: {{ join "," $attributes | quote }}
{{- if has .component (list "gateway" "sender" "tracker" "webhooks" "inbound" "smtp") }}
{{- include (printf "mailpass.%s.env" .component) $root }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level fields. The pods never talk to the API server: no token is mounted. */}}
{{- define "mailpass.podSpec" -}}
{{- $root := .context -}}
{{- $values := index $root.Values .component -}}
serviceAccountName: {{ include "mailpass.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- /* Service links would put <SERVICE>_PORT variables in the environment the settings read. */}}
enableServiceLinks: false
{{- with concat (($root.Values.global).imagePullSecrets | default list) $root.Values.imagePullSecrets | uniq }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- if $values.podSecurityContext.enabled }}
securityContext:
  {{- omit $values.podSecurityContext "enabled" | toYaml | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.terminationGracePeriodSeconds }}
terminationGracePeriodSeconds: {{ . }}
{{- end }}
{{- end -}}

{{/* Container fields besides name, command, ports and probes. The root filesystem is
read-only: /tmp is an emptyDir (HOME and TMPDIR point there in the image). */}}
{{- define "mailpass.container" -}}
{{- $root := .context -}}
{{- $values := index $root.Values .component -}}
image: {{ include "mailpass.image" . }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
{{- if $values.containerSecurityContext.enabled }}
securityContext:
  {{- omit $values.containerSecurityContext "enabled" | toYaml | nindent 2 }}
{{- end }}
resources:
  {{- toYaml $values.resources | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "mailpass.configMapName" $root }}
env:
  {{- include "mailpass.env" . | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- if eq .component "gateway" }}
  - name: metrics
    mountPath: /tmp/metrics
  {{- end }}
  {{- if and (eq .component "inbound") $values.tls.secretName }}
  - name: inbound-tls
    mountPath: /etc/mailpass/inbound-tls
    readOnly: true
  {{- end }}
  {{- if eq .component "smtp" }}
  - name: smtp-tls
    mountPath: /etc/mailpass/smtp-tls
    readOnly: true
  {{- end }}
  {{- with $values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "mailpass.volumes" -}}
{{- $values := index .context.Values .component -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
  {{- if eq .component "gateway" }}
  {{- /* PROMETHEUS_MULTIPROC_DIR: the gateway's workers share their metrics here. */}}
  - name: metrics
    emptyDir:
      sizeLimit: 64Mi
  {{- end }}
  {{- if and (eq .component "inbound") $values.tls.secretName }}
  {{- /* STARTTLS's certificate: the files change in place when it is renewed; the
  service reloads them. */}}
  - name: inbound-tls
    secret:
      secretName: {{ $values.tls.secretName }}
  {{- end }}
  {{- if eq .component "smtp" }}
  {{- /* Mounted whole (no subPath), so a renewal reaches the running pod, which reloads it. */}}
  - name: smtp-tls
    secret:
      secretName: {{ required "smtp.tls.secretName: the kubernetes.io/tls Secret of the submission certificate (cert-manager's, for instance)" .context.Values.smtp.tls.secretName }}
      defaultMode: 0440
  {{- end }}
  {{- with $values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Readiness on /readyz, liveness and startup on /healthz, all on the management port. */}}
{{- define "mailpass.probes" -}}
{{- $values := index .context.Values .component -}}
{{- range $probe, $path := dict "startupProbe" "/healthz" "livenessProbe" "/healthz" "readinessProbe" "/readyz" }}
{{- $settings := index $values $probe }}
{{- if $settings.enabled }}
{{ $probe }}:
  httpGet:
    path: {{ $path }}
    port: management
  {{- omit $settings "enabled" | toYaml | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod template annotations: a change of settings rolls the pods. */}}
{{- define "mailpass.podAnnotations" -}}
{{- $root := .context -}}
{{- $values := index $root.Values .component -}}
checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
{{- if not $root.Values.secrets.existingSecret }}
checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
{{- end }}
{{- with $values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "mailpass.podLabels" -}}
{{ include "mailpass.labels" . }}
{{- with (index .context.Values .component).podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* MONGODB_URL or AMQP_URL built from externalMongodb/externalRabbitmq (when its host is
set): the password from that Secret as MONGODB_PASSWORD/AMQP_PASSWORD, which the settings
put into the URL percent-encoded. Empty for any other name, or without a host. */}}
{{- define "mailpass.externalUrl" -}}
{{- $root := .context -}}
{{- $db := $root.Values.externalMongodb -}}
{{- $mq := $root.Values.externalRabbitmq -}}
{{- if and (eq .name "MONGODB_URL") $db.host }}
- name: MONGODB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalMongodb.existingSecret is required with externalMongodb.host (the Secret holding the MongoDB user's password)" $db.existingSecret | quote }}
      key: {{ $db.existingSecretPasswordKey | quote }}
- name: MONGODB_URL
  value: {{ printf "mongodb://%s@%s:%v/%s" (urlquery $db.username) $db.host $db.port (ternary (printf "?%s" $db.options) "" (ne $db.options "")) | quote }}
{{- else if and (eq .name "AMQP_URL") $mq.host }}
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalRabbitmq.existingSecret is required with externalRabbitmq.host (the Secret holding the RabbitMQ user's password)" $mq.existingSecret | quote }}
      key: {{ $mq.existingSecretPasswordKey | quote }}
- name: AMQP_URL
  value: {{ printf "%s://%s@%s:%v/%s" (ternary "amqps" "amqp" $mq.tls) (urlquery $mq.username) $mq.host $mq.port (urlquery $mq.vhost) | quote }}
{{- end -}}
{{- end -}}
