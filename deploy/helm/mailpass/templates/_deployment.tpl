{{/*
The Deployment of a long-running service (gateway, sender, tracker): the same shape for
each; what differs is its command and its environment (mailpass.<component>.env).
*/}}
{{- define "mailpass.deployment" -}}
{{- $root := .context -}}
{{- $values := index $root.Values .component -}}
{{- $autoscaled := or $values.autoscaling.hpa.enabled (and $values.autoscaling.keda $values.autoscaling.keda.enabled) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "mailpass.componentName" . }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "mailpass.labels" . | nindent 4 }}
  {{- with include "mailpass.annotations" (dict "context" $root) }}{{ . | nindent 2 }}{{ end }}
spec:
  {{- if not $autoscaled }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    {{- toYaml $values.updateStrategy | nindent 4 }}
  selector:
    matchLabels:
      {{- include "mailpass.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mailpass.podLabels" . | nindent 8 }}
      annotations:
        {{- include "mailpass.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "mailpass.podSpec" . | nindent 6 }}
      containers:
        - name: {{ kebabcase .component }}
          command: [{{ printf "mailpass-%s" .component | quote }}]
          {{- include "mailpass.container" . | nindent 10 }}
          ports:
            {{- range $name, $port := $values.containerPorts }}
            - name: {{ $name }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          {{- with include "mailpass.probes" . | trim }}{{ . | nindent 10 }}{{ end }}
      {{- include "mailpass.volumes" . | nindent 6 }}
{{- end -}}
