-- Argo CD health check for sfn.operator.dev objects (StateMachine, TaskIntegration, Activity).
-- Argo CD runs it with Lua 5.1; `obj` is the live object. The operator follows kstatus conventions:
-- status.observedGeneration says which spec the status describes, and the Ready condition says the outcome.
local hs = { status = "Progressing", message = "Waiting for the operator to reconcile" }

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "Deleting: the operator is cleaning up AWS"
  return hs
end
if obj.status == nil then
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
  return hs
end

local ready = nil
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end
if ready == nil then
  return hs
end

local message = ready.message
if message == nil or message == "" then
  message = ready.reason or ""
end

-- A progressive rollout of an alias (StateMachine only): a rollback or abort is Degraded until the spec
-- changes or a retry is requested; steps in progress, or a rollout held for a missing alarm, are Progressing.
local rollout = obj.status.rollout
local rolloutMessage = ""
if rollout ~= nil then
  rolloutMessage = rollout.message
  if rolloutMessage == nil or rolloutMessage == "" then
    rolloutMessage = rollout.reason or ""
  end
  rolloutMessage = "rollout of alias " .. tostring(rollout.alias) .. ": " .. rolloutMessage
  if rollout.phase == "Degraded" then
    hs.status = "Degraded"
    hs.message = rolloutMessage
    return hs
  end
end

if ready.status == "True" and rollout ~= nil and (rollout.phase == "Progressing" or rollout.phase == "Paused") then
  hs.status = "Progressing"
  hs.message = rolloutMessage
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end

-- Reasons the operator retries by itself: the object will get there without a change to its spec.
local transient = { Throttled = true, Deleting = true, ReferenceNotFound = true, Reconciling = true }
if ready.status == "False" and not transient[ready.reason] then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = message
return hs
