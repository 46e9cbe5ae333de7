{{/*
A gRPC service of the mesh: Deployment (native gRPC probes, non-root) and Service.
Call with (dict "root" $ "name" "cart" "values" .Values.cart "peers" (list "auth" "catalog")):
peers are the services whose <NAME>_ADDR it gets.
*/}}
{{- define "shopmesh.grpcService" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  labels: { app.kubernetes.io/name: {{ $name }}, app.kubernetes.io/instance: {{ $root.Release.Name }} }
spec:
  replicas: {{ $v.replicas }}
  selector:
    matchLabels: { app.kubernetes.io/name: {{ $name }}, app.kubernetes.io/instance: {{ $root.Release.Name }} }
  template:
    metadata:
      labels: { app.kubernetes.io/name: {{ $name }}, app.kubernetes.io/instance: {{ $root.Release.Name }} }
    spec:
      securityContext: { runAsNonRoot: true, runAsUser: 1000 }
      containers:
        - name: {{ $name }}
          image: "{{ $root.Values.image.repository }}:{{ $root.Values.image.tag }}"
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["node", "services/{{ $name }}/dist/main.js"]
          env:
            - name: {{ upper $name }}_PORT
              value: "{{ $v.port }}"
            - name: DATABASE_URL
              valueFrom: { secretKeyRef: { name: {{ $v.databaseSecret }}, key: DATABASE_URL } }
            - name: KAFKA_BROKERS
              value: {{ required "kafka.brokers is required (comma-separated host:port of the Kafka cluster)" $root.Values.kafka.brokers | quote }}
            {{- range $peer := (.peers | default list) }}
            - name: {{ upper $peer }}_ADDR
              value: "{{ $root.Release.Name }}-{{ $peer }}:{{ (index $root.Values $peer).port }}"
            {{- end }}
          ports: [{ name: grpc, containerPort: {{ $v.port }} }]
          readinessProbe: { grpc: { port: {{ $v.port }} }, periodSeconds: 5 }
          livenessProbe: { grpc: { port: {{ $v.port }} }, periodSeconds: 10 }
          resources: {{- toYaml $v.resources | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
spec:
  selector: { app.kubernetes.io/name: {{ $name }}, app.kubernetes.io/instance: {{ $root.Release.Name }} }
  ports: [{ name: grpc, port: {{ $v.port }}, targetPort: grpc }]
{{- end -}}
