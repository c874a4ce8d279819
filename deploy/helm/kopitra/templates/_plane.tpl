{{/*
One plane (gateway or management): Deployment, Service, HorizontalPodAutoscaler and
PodDisruptionBudget. Call with (dict "root" $ "component" "gateway" "health" "/trade-agent/v1/health").
*/}}
{{- define "kopitra.plane" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- $v := index $root.Values $c -}}
{{- $name := printf "%s-%s" (include "kopitra.fullname" $root) $c -}}
{{- $sel := include "kopitra.selectorLabels" (dict "root" $root "component" $c) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "kopitra.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $c }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- $sel | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "kopitra.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $c }}
      annotations:
        checksum/env: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ include "kopitra.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds | default 30 }}
      containers:
        - name: {{ $c }}
          image: {{ include "kopitra.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $c | quote }}]
          env:
            - name: PORT
              value: {{ $v.port | quote }}
            {{- include "kopitra.env" $root | nindent 12 }}
            {{- if and (eq $c "management") (or $root.Values.admin.email $root.Values.admin.existingSecret) }}
            - name: KOPITRA_ADMIN_EMAIL
              valueFrom:
                secretKeyRef:
                  name: {{ default (include "kopitra.secretName" $root) $root.Values.admin.existingSecret }}
                  key: KOPITRA_ADMIN_EMAIL
            - name: KOPITRA_ADMIN_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ default (include "kopitra.secretName" $root) $root.Values.admin.existingSecret }}
                  key: KOPITRA_ADMIN_PASSWORD
            {{- end }}
          ports:
            - name: http
              containerPort: {{ $v.port }}
              protocol: TCP
          # Readiness follows the dependencies (503 while the database or bus is away, so the
          # pod leaves the Service without being restarted); liveness only needs an answer.
          readinessProbe:
            httpGet:
              path: {{ .health }}
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          livenessProbe:
            tcpSocket:
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 6
          startupProbe:
            httpGet:
              path: {{ .health }}
              port: http
            periodSeconds: 2
            failureThreshold: 60
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "kopitra.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "kopitra.volumes" $root | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "kopitra.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $c }}
spec:
  type: {{ $v.service.type }}
  selector:
    {{- $sel | nindent 4 }}
  ports:
    - name: http
      port: {{ $v.service.port }}
      targetPort: http
      protocol: TCP
{{- if $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "kopitra.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $c }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
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
{{- if $v.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "kopitra.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $c }}
spec:
  minAvailable: {{ $v.podDisruptionBudget.minAvailable | default 1 }}
  selector:
    matchLabels:
      {{- $sel | nindent 6 }}
{{- end }}
{{- end -}}
