{{/*
Prefix of every object's name: the release name, or "<release>-shopmesh" when the release name
does not contain "shopmesh". Kept short enough for "-notification-migrate" within 63 characters.
*/}}
{{- define "shopmesh.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one process. Call with (dict "root" $ "name" "cart"). */}}
{{- define "shopmesh.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Labels of every object of one process. Call with (dict "root" $ "name" "cart"). */}}
{{- define "shopmesh.labels" -}}
{{ include "shopmesh.selectorLabels" . }}
app.kubernetes.io/part-of: shopmesh
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "shopmesh.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* host:port of a process's Service. Call with (dict "root" $ "name" "cart"). */}}
{{- define "shopmesh.address" -}}
{{ include "shopmesh.fullname" .root }}-{{ .name }}:{{ (index .root.Values .name).port }}
{{- end -}}

{{- define "shopmesh.kafkaBrokers" -}}
{{ required "kafka.brokers is required: comma-separated host:port of the Kafka cluster" .Values.kafka.brokers }}
{{- end -}}

{{/*
Environment entries of a process that come from Secrets: its DATABASE_URL and Kafka SCRAM secret
(services), SMTP_URL (notification, when set) and its secretEnv. Call with (dict "root" $ "name" "cart").
*/}}
{{- define "shopmesh.secretEnv" -}}
{{- $root := .root -}}
{{- $v := index $root.Values .name -}}
{{- if hasKey $v "database" }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.secretName | default $root.Values.database.secretName }}
      key: {{ $v.database.secretKey | default .name }}
{{- end }}
{{- with $v.smtp }}
{{- if .secretName }}
- name: SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- if and (hasKey $v "database") $root.Values.kafka.sasl.mechanism }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.kafka.sasl.secretName }}
      key: {{ .name }}
{{- end }}
{{- range $var, $ref := $v.secretEnv }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end -}}

{{/* The pod-level settings every shopmesh pod shares. */}}
{{- define "shopmesh.podSpecCommon" -}}
automountServiceAccountToken: false
# No Docker-link variables (SHOPMESH_AUTH_PORT=tcp://…): a process gets only what it reads.
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The pod of the certificate issuer's Job and CronJob: the image's issue-certs into Secrets. */}}
{{- define "shopmesh.issuerPod" -}}
{{- $fullname := include "shopmesh.fullname" . -}}
serviceAccountName: {{ $fullname }}-tls-issuer
automountServiceAccountToken: true
enableServiceLinks: false
restartPolicy: Never
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: issue-certs
    image: {{ include "shopmesh.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command:
      - node
      - launcher/dist/issue-certs.js
      - --secrets
      - {{ $fullname }}-tls
      - --lifetime-hours
      - {{ .Values.tls.lifetimeHours | quote }}
      - --dns
      - {{ $fullname }}-{workload}
      - --dns
      - {{ $fullname }}-{workload}.{{ .Release.Namespace }}.svc
    resources:
      {{- toYaml .Values.tls.resources | nindent 6 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    volumeMounts:
      - { name: tmp, mountPath: /tmp }
volumes:
  - { name: tmp, emptyDir: { sizeLimit: 16Mi } }
{{- end -}}

{{/* Where a pod finds the Kafka brokers' CA (kafka.tls.caSecretName). */}}
{{- define "shopmesh.kafkaCaDir" -}}/etc/shopmesh/kafka-ca{{- end -}}

{{/*
The environment of the Jobs that administer Kafka (topics, ACLs): the brokers, and with
kafka.sasl the admin principal of kafka.admin.secretName, over TLS with kafka.tls.
*/}}
{{- define "shopmesh.kafkaAdminEnv" -}}
- { name: KAFKA_BOOTSTRAP, value: {{ include "shopmesh.kafkaBrokers" . | quote }} }
{{- with .Values.kafka.sasl.mechanism }}
- { name: KAFKA_ADMIN_MECHANISM, value: {{ upper . | quote }} }
- name: KAFKA_ADMIN_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ $.Values.kafka.admin.secretName }}, key: username }
- name: KAFKA_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $.Values.kafka.admin.secretName }}, key: password }
{{- end }}
- { name: KAFKA_ADMIN_TLS, value: {{ .Values.kafka.tls.enabled | toString | quote }} }
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecretName }}
- { name: KAFKA_ADMIN_CA_FILE, value: "{{ include "shopmesh.kafkaCaDir" . }}/ca.crt" }
{{- end }}
{{- end -}}

{{/* The volume of the brokers' CA, when kafka.tls names one. */}}
{{- define "shopmesh.kafkaCaVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecretName }}
- name: kafka-ca
  secret: { secretName: {{ .Values.kafka.tls.caSecretName }}, items: [{ key: ca.crt, path: ca.crt }] }
{{- end }}
{{- end -}}

{{- define "shopmesh.kafkaCaMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecretName }}
- { name: kafka-ca, mountPath: {{ include "shopmesh.kafkaCaDir" . }}, readOnly: true }
{{- end }}
{{- end -}}
