{{/* Names, labels and shared pod pieces for the Kopitra chart. */}}

{{- define "kopitra.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kopitra.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kopitra.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kopitra.labels" -}}
helm.sh/chart: {{ include "kopitra.chart" . }}
app.kubernetes.io/name: {{ include "kopitra.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kopitra
{{- end -}}

{{/* Selector labels for one component: call with (dict "root" $ "component" "gateway"). */}}
{{- define "kopitra.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kopitra.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kopitra.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kopitra.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kopitra.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "kopitra.secretName" -}}
{{- printf "%s-env" (include "kopitra.fullname" .) -}}
{{- end -}}

{{/* Environment shared by every Kopitra container; secrets come from Secrets, never values in the pod spec. */}}
{{- define "kopitra.env" -}}
- name: KOPITRA_DATA_DIR
  value: /data
- name: KOPITRA_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: KOPITRA_PG_POOL_SIZE
  value: {{ .Values.database.poolSize | default 10 | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "kopitra.secretName" .) .Values.database.existingSecret }}
      key: {{ .Values.database.databaseUrlKey | default "DATABASE_URL" }}
{{- if or .Values.bus.url .Values.bus.existingSecret }}
- name: KOPITRA_BUS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "kopitra.secretName" .) .Values.bus.existingSecret }}
      key: {{ .Values.bus.busUrlKey | default "KOPITRA_BUS_URL" }}
{{- end }}
{{- if or .Values.reports.url .Values.reports.existingSecret }}
- name: KOPITRA_REPORTS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "kopitra.secretName" .) .Values.reports.existingSecret }}
      key: {{ .Values.reports.urlKey | default "KOPITRA_REPORTS_URL" }}
{{- end }}
- name: KOPITRA_REPORTS_CONTAINER
  value: {{ .Values.reports.container | default "reports" | quote }}
- name: KOPITRA_REPORT_LINK_TTL_SEC
  value: {{ .Values.reports.linkTtlSec | default 300 | quote }}
{{- if or .Values.secret.value .Values.secret.existingSecret }}
- name: KOPITRA_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default (include "kopitra.secretName" .) .Values.secret.existingSecret }}
      key: {{ .Values.secret.key | default "KOPITRA_SECRET" }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Writable scratch space on a read-only root filesystem. */}}
{{- define "kopitra.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- with .Values.reports.existingClaim }}
- name: reports
  persistentVolumeClaim:
    claimName: {{ . }}
{{- end }}
{{- end -}}

{{- define "kopitra.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- if .Values.reports.existingClaim }}
- name: reports
  mountPath: /data/reports
{{- end }}
{{- end -}}
