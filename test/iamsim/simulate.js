// Evaluates buildrole's policy corpus with @cloud-copilot/iam-simulate, an
// IAM evaluator written independently of buildrole (AGPL-3.0-or-later: a
// test tool run as its own process, never linked into or shipped with
// buildrole).
//
// Usage: node simulate.js CORPUS.json > DECISIONS.json
//
// CORPUS.json is written by corpus_test.go: {policies: {name: document},
// requests: [{id, engine, principal, action, resource, account, context,
// identity: [name...], boundary: name, resourcePolicy: name}]}
// engine "validating" runs runSimulation, which checks the action, the
// resource type and the context keys against the Service Authorization
// Reference and drops keys the action does not support (reported as
// ignored); "core" runs the evaluation engine alone (runUnsafeSimulation),
// for what the validating entry point rejects: AWS-owned SSM documents,
// whose ARNs have no account, and the GitHub OIDC condition keys of trust
// policies.
//
// Output: an array of {id, decision, ignored, error} in corpus order;
// decision is Allowed, ImplicitlyDenied or ExplicitlyDenied.
'use strict'

const fs = require('fs')
const { runSimulation, runUnsafeSimulation, typeForContextKey, isConditionKeyArray } = require('@cloud-copilot/iam-simulate')

// The core engine loads an unnamed resource policy without metadata and
// then reads its name; a validated-policy record carries one.
function named(doc, name) {
  return { __validated: true, policyDocument: doc, metadata: { name }, errors: [] }
}

// The validating entry point types each context value by its key; the core
// engine takes values as given, so single-valued keys are passed as strings
// there (keys it does not know, such as the GitHub OIDC ones, are strings
// when they carry one value).
async function coreContext(context) {
  const out = {}
  for (const [key, values] of Object.entries(context || {})) {
    let array = values.length > 1
    try {
      array = isConditionKeyArray(await typeForContextKey(key))
    } catch (e) {
      // not in the Service Authorization Reference: decided by arity
    }
    out[key] = array ? values : values[0]
  }
  return out
}

async function simulation(r, policies) {
  const s = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.engine === 'core' ? await coreContext(r.context) : r.context || {}
    },
    identityPolicies: (r.identity || []).map((name) => ({ name, policy: policies[name] })),
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  if (r.boundary) {
    s.permissionBoundaryPolicies = [{ name: r.boundary, policy: policies[r.boundary] }]
  }
  if (r.resourcePolicy) {
    const doc = policies[r.resourcePolicy]
    s.resourcePolicy = r.engine === 'core' ? named(doc, r.resourcePolicy) : doc
  }
  return s
}

async function evaluate(r, policies) {
  const s = await simulation(r, policies)
  if (r.engine === 'core') {
    return { id: r.id, decision: runUnsafeSimulation(s, {}) }
  }
  const out = await runSimulation(s, {})
  if (out.resultType === 'error') {
    return { id: r.id, error: JSON.stringify(out.errors) }
  }
  const results = out.resultType === 'single' ? [out.result] : out.results
  const ignored = [...new Set(results.flatMap((x) => x.ignoredContextKeys || []))].sort()
  return { id: r.id, decision: out.overallResult, ignored }
}

async function main() {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: node simulate.js CORPUS.json\n')
    process.exit(2)
  }
  const corpus = JSON.parse(fs.readFileSync(file, 'utf8'))
  const out = []
  for (const r of corpus.requests) {
    try {
      out.push(await evaluate(r, corpus.policies))
    } catch (e) {
      out.push({ id: r.id, error: String((e && e.stack) || e) })
    }
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n')
  process.exit(1)
})
