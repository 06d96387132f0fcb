// Backstage's own entity validation, as the catalog backend runs it on every entity it ingests: the entity
// policies (envelope and schema, default namespace, no foreign root fields, field formats — names, labels,
// annotation keys and values, tags, links) and the validator of each built-in kind (Component, API, Resource,
// System, ...). Reads a JSON array of entities on stdin; prints one result per entity: {ref, ok, errors}.
'use strict';

const {
  EntityPolicies,
  SchemaValidEntityPolicy,
  DefaultNamespaceEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  FieldFormatEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
} = require('@backstage/catalog-model');

const policy = EntityPolicies.allOf([
  new SchemaValidEntityPolicy(),
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
]);
const kinds = [
  apiEntityV1alpha1Validator, componentEntityV1alpha1Validator, domainEntityV1alpha1Validator, groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator, resourceEntityV1alpha1Validator, systemEntityV1alpha1Validator, userEntityV1alpha1Validator,
];

async function validate(entity) {
  const ref = `${entity && entity.kind}:${entity && entity.metadata && entity.metadata.namespace || 'default'}/${entity && entity.metadata && entity.metadata.name}`;
  const errors = [];
  try {
    const enforced = await policy.enforce(entity);
    if (!enforced) errors.push('rejected by the entity policies');
  } catch (e) {
    errors.push(`policy: ${e.message}`);
  }
  let known = false;
  for (const validator of kinds) {
    try {
      if (await validator.check(entity)) known = true;
    } catch (e) {
      known = true;
      errors.push(`kind: ${e.message}`);
    }
  }
  if (!known) errors.push(`no built-in validator accepts kind ${entity && entity.kind}`);
  return { ref, ok: errors.length === 0, errors };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', async () => {
  const entities = JSON.parse(input);
  const results = [];
  for (const entity of entities) results.push(await validate(entity));
  process.stdout.write(JSON.stringify(results));
});
