{{/* Full name of the release's objects, at most 63 characters. */}}
{{- define "sfn-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sfn-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sfn-operator.labels" -}}
{{ include "sfn-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sfn-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sfn-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Rules on the operator's own kinds, shared by the ClusterRole and the namespaced Roles. */}}
{{- define "sfn-operator.resourceRules" -}}
- apiGroups: ["sfn.operator.dev"]
  resources: ["statemachines", "taskintegrations", "activities"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["sfn.operator.dev"]
  resources: ["statemachines/status", "taskintegrations/status", "activities/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["sfn.operator.dev"]
  resources: ["statemachines/finalizers", "taskintegrations/finalizers", "activities/finalizers"]
  verbs: ["update"]
- apiGroups: ["sfn.operator.dev"]
  resources: ["referencegrants"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
