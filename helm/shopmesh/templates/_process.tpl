{{/*
One process of the mesh: its ConfigMap, Deployment, Service, PodDisruptionBudget, optional
HorizontalPodAutoscaler and, for a service, the Job that migrates its database before a release.
Call with (dict "root" $ "name" "cart" "peers" (list "auth" "catalog")): peers are the processes
whose <NAME>_ADDR it gets. The edge (name "edge") speaks HTTP; the services gRPC.
*/}}
{{- define "shopmesh.process" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $v := index $root.Values $name -}}
{{- $fullname := printf "%s-%s" (include "shopmesh.fullname" $root) $name -}}
{{- $edge := eq $name "edge" -}}
{{- $labels := dict "root" $root "name" $name -}}
{{- $config := dict (printf "%s_PORT" (upper $name)) (toString $v.port) "METRICS_PORT" (toString $root.Values.metrics.port) "LOG_LEVEL" $root.Values.logLevel -}}
{{- $_ := set $config "SHOPMESH_TLS_DIR" $root.Values.tls.mountPath -}}
{{- if not $edge -}}
{{- $_ := set $config "KAFKA_BROKERS" (include "shopmesh.kafkaBrokers" $root) -}}
{{- $_ := set $config "SHUTDOWN_GRACE_MS" (toString $root.Values.shutdown.graceMs) -}}
{{- with $root.Values.kafka.sasl.mechanism -}}
{{- $_ := set $config "KAFKA_SASL_MECHANISM" . -}}
{{- $_ := set $config "KAFKA_SASL_USERNAME" $name -}}
{{- end -}}
{{- if $root.Values.kafka.tls.enabled -}}
{{- $_ := set $config "KAFKA_SSL" "true" -}}
{{- with $root.Values.kafka.tls.caSecretName -}}
{{- $_ := set $config "KAFKA_SSL_CA_FILE" (printf "%s/ca.crt" (include "shopmesh.kafkaCaDir" $root)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with $root.Values.tracing.otlpEndpoint -}}
{{- $_ := set $config "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end -}}
{{- range $peer := .peers -}}
{{- $_ := set $config (printf "%s_ADDR" (upper $peer)) (include "shopmesh.address" (dict "root" $root "name" $peer)) -}}
{{- end -}}
{{- if and $edge $root.Values.ingress.enabled -}}
{{- /* Behind the ingress every client's address is the controller's: the edge reads the client
from the X-Forwarded-For entry the controller adds (rate limits key on it). */ -}}
{{- $_ := set $config "EDGE_TRUSTED_PROXY_HOPS" "1" -}}
{{- end -}}
{{- range $var, $value := $v.env -}}
{{- $_ := set $config $var (toString $value) -}}
{{- end -}}
{{- if and (eq $name "catalog") (or (gt (int $v.replicas) 1) $v.autoscaling.enabled) (ne (get $config "CATALOG_CACHE_SIZE") "0") -}}
{{- fail "catalog: more than one replica needs catalog.env.CATALOG_CACHE_SIZE \"0\" (each replica's product cache sees only its own stock changes)" -}}
{{- end -}}
{{- $graceS := add $root.Values.shutdown.preStopSleepSeconds (div $root.Values.shutdown.graceMs 1000) 5 -}}
{{- if lt (int $root.Values.shutdown.terminationGracePeriodSeconds) (int $graceS) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds must be at least %d: preStopSleepSeconds + graceMs + 5 s to close" $graceS) -}}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
data:
  {{- range $var, $value := $config }}
  {{ $var }}: {{ $value | quote }}
  {{- end }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "shopmesh.selectorLabels" $labels | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels:
        {{- include "shopmesh.labels" $labels | nindent 8 }}
      annotations:
        checksum/config: {{ toJson $config | sha256sum }}
        {{- if $root.Values.metrics.podAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.metrics.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
    spec:
      {{- include "shopmesh.podSpecCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ $root.Values.shutdown.terminationGracePeriodSeconds }}
      containers:
        - name: {{ $name }}
          image: {{ include "shopmesh.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          {{- if $edge }}
          command: ["node", "edge/dist/main.js"]
          {{- else }}
          command: ["node", "services/{{ $name }}/dist/main.js"]
          {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $fullname }}
          {{- with include "shopmesh.secretEnv" $labels | trim }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          ports:
            {{- if $edge }}
            - { name: http, containerPort: {{ $v.port }} }
            {{- else }}
            - { name: grpc, containerPort: {{ $v.port }} }
            {{- end }}
            - { name: metrics, containerPort: {{ $root.Values.metrics.port }} }
          {{- if $edge }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
          {{- else }}
          # The admin server's /readyz: 200 once started and while the database answers (the gRPC
          # port takes mutual TLS only, which the kubelet's gRPC probes cannot speak).
          # The start migrates the database first, hence the start-up allowance.
          startupProbe:
            httpGet: { path: /readyz, port: metrics }
            periodSeconds: 2
            failureThreshold: 60
          readinessProbe:
            httpGet: { path: /readyz, port: metrics }
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet: { path: /healthz, port: metrics }
            periodSeconds: 10
            timeoutSeconds: 3
          {{- end }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "{{ $root.Values.shutdown.preStopSleepSeconds }}"]
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            - { name: tls, mountPath: {{ $root.Values.tls.mountPath }}, readOnly: true }
            {{- if not $edge }}
            {{- include "shopmesh.kafkaCaMount" $root | nindent 12 }}
            {{- end }}
      volumes:
        - { name: tmp, emptyDir: { sizeLimit: 64Mi } }
        # Its own certificate and key, and the mesh CA, under the names SHOPMESH_TLS_DIR expects.
        - name: tls
          secret:
            secretName: {{ include "shopmesh.fullname" $root }}-tls-{{ $name }}
            items:
              - { key: tls.crt, path: {{ $name }}.crt }
              - { key: tls.key, path: {{ $name }}.key }
              - { key: ca.crt, path: ca.crt }
        {{- if not $edge }}
        {{- include "shopmesh.kafkaCaVolume" $root | nindent 8 }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
spec:
  selector:
    {{- include "shopmesh.selectorLabels" $labels | nindent 4 }}
  ports:
    {{- if $edge }}
    - { name: http, port: {{ $v.port }}, targetPort: http }
    {{- else }}
    - { name: grpc, port: {{ $v.port }}, targetPort: grpc, appProtocol: grpc }
    {{- end }}
    - { name: metrics, port: {{ $root.Values.metrics.port }}, targetPort: metrics }
{{- if $v.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
spec:
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "shopmesh.selectorLabels" $labels | nindent 6 }}
{{- end }}
{{- if $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if and (not $edge) $root.Values.database.migrate }}
---
# Migrates the database before the release changes any pod; a failure stops the install or upgrade.
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $fullname }}-migrate
  labels:
    {{- include "shopmesh.labels" $labels | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 3
  activeDeadlineSeconds: 600
  template:
    metadata:
      labels:
        {{- include "shopmesh.labels" $labels | nindent 8 }}
    spec:
      {{- include "shopmesh.podSpecCommon" $root | nindent 6 }}
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "shopmesh.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["node", "launcher/dist/migrate.js", "{{ $name }}"]
          env:
            - { name: LOG_LEVEL, value: {{ $root.Values.logLevel | quote }} }
            {{- with $v.env.DB_SCHEMA }}
            - { name: DB_SCHEMA, value: {{ . | quote }} }
            {{- end }}
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: {{ $v.database.secretName | default $root.Values.database.secretName }}
                  key: {{ $v.database.secretKey | default $name }}
          resources:
            requests: { cpu: 50m, memory: 128Mi }
            limits: { memory: 256Mi }
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
{{- end }}
{{- end -}}
