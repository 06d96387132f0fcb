#!/usr/bin/env node
// Reference renderer for the comparison tests (tests/unit/test_backstage_reference.py).
//
// Renders the files of a Backstage Software Template the way Backstage's scaffolder does, so Roadbed's
// Jinja2 renderer can be compared with it byte for byte. Written for Roadbed from the documented
// behaviour of @backstage/plugin-scaffolder-backend (1.x-3.x: nunjucks in an isolate, SecureTemplater)
// and its `fetch:template` / `fetch:plain` actions:
//   - nunjucks with `${{ }}` as variable tags, autoescape off, values passed through JSON;
//   - Backstage's filters parseRepoUrl, parseEntityRef, pick, projectSlug (their results cross a JSON
//     boundary, as in the isolate), plus nunjucks' own (dump, lower, ...);
//   - step inputs rendered as the workflow runner renders them: a string that is a single `${{ }}`
//     keeps its type (rendered through `| dump` and parsed back), '' becomes undefined, a failed
//     render leaves the string as it was; `if:` skips a step when falsy (an empty list is falsy);
//   - fetch:template: every entry's path is rendered (copyWithoutRender: not for matched entries),
//     contents rendered unless matched by copyWithoutRender/copyWithoutTemplating (globby, dot: true)
//     or, with templateFileExtension, only files with that extension (stripped); binary files are
//     copied as they are; a path rendering to '' or containing '//' is skipped; file modes are kept;
//     an existing output file is kept unless `replace`.
//
// It never runs in Roadbed itself: it is test tooling, evaluated against templates the tests choose.
//
// usage: node render.js <template.yaml> <parameters.json> <output dir>
// prints a JSON report on stdout: {"skipped": [step ids], "errors": [...]}.
'use strict';

const fs = require('fs');
const path = require('path');
const nunjucks = require('nunjucks');
const globby = require('globby');
const { isBinaryFileSync } = require('isbinaryfile');
const YAML = require('yaml');

const TAGS = { variableStart: '${{', variableEnd: '}}' };

function parseRepoUrl(repoUrl) {
  let parsed;
  try {
    parsed = new URL(`https://${repoUrl}`);
  } catch (error) {
    throw new Error(`Invalid repo URL passed to publisher, got ${repoUrl}, ${error}`);
  }
  const param = name => parsed.searchParams.get(name) ?? undefined;
  const result = {
    host: parsed.host,
    owner: param('owner'),
    repo: param('repo'),
    organization: param('organization'),
    workspace: param('workspace'),
    project: param('project'),
  };
  // Every host is treated as a GitHub-like integration: owner and repo are required.
  if (!result.repo || !result.owner) {
    throw new Error(`Invalid repo URL passed to publisher, missing owner or repo, got ${repoUrl}`);
  }
  return result;
}

function parseEntityRef(ref, context) {
  if (typeof ref !== 'string') throw new Error(`Entity reference must be a string, got ${typeof ref}`);
  const options = context || {};
  const colon = ref.indexOf(':');
  const slash = ref.indexOf('/');
  let kind = options.defaultKind;
  let namespace = options.defaultNamespace || 'default';
  let rest = ref;
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    kind = ref.slice(0, colon);
    rest = ref.slice(colon + 1);
  }
  const split = rest.indexOf('/');
  if (split !== -1) {
    namespace = rest.slice(0, split);
    rest = rest.slice(split + 1);
  }
  if (!kind) throw new Error(`Entity reference "${ref}" had missing or empty kind`);
  if (!rest) throw new Error(`Entity reference "${ref}" had missing or empty name`);
  return { kind, namespace, name: rest };
}

function lodashGet(obj, key) {
  if (obj === null || obj === undefined) return undefined;
  const parts = String(key).replace(/\[(\w+)\]/g, '.$1').split('.').filter(p => p !== '');
  let current = obj;
  for (const part of parts) {
    if (current === null || current === undefined) return undefined;
    current = current[part];
  }
  return current;
}

const FILTERS = {
  parseRepoUrl: url => parseRepoUrl(url),
  parseEntityRef: (ref, context) => parseEntityRef(ref, context),
  pick: (obj, key) => lodashGet(obj, key),
  projectSlug: url => {
    const { owner, repo } = parseRepoUrl(url);
    return `${owner}/${repo}`;
  },
};

function makeEnvironment() {
  const env = new nunjucks.Environment(null, { autoescape: false, tags: TAGS });
  for (const [name, filter] of Object.entries(FILTERS)) {
    // In Backstage the filter runs outside the isolate: arguments and result cross as JSON.
    env.addFilter(name, (...args) => JSON.parse(JSON.stringify(filter(...JSON.parse(JSON.stringify(args))))));
  }
  return env;
}

const env = makeEnvironment();

function renderString(template, values) {
  try {
    return env.renderString(String(template), JSON.parse(JSON.stringify(values)));
  } catch (error) {
    throw new Error(String(error.message));
  }
}

function isSingleTemplateString(input) {
  const parsed = nunjucks.parser.parse(input, {}, { autoescape: false, tags: TAGS });
  return parsed.children.length === 1 && !(parsed.children[0]?.children?.[0] instanceof nunjucks.nodes.TemplateData);
}

function renderInput(input, context) {
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    if (typeof value !== 'string') return value;
    try {
      try {
        if (isSingleTemplateString(value)) {
          const dumped = renderString(value.replace(/\${{(.+)}}/g, '${{ ( $1 ) | dump }}'), context);
          if (dumped === '') return undefined;
          return JSON.parse(dumped);
        }
      } catch (error) {
        // falls back to rendering the string as it is, as Backstage does
      }
      const rendered = renderString(value, context);
      return rendered === '' ? undefined : rendered;
    } catch (error) {
      return value;
    }
  });
}

function isTruthy(value) {
  return Array.isArray(value) ? value.length > 0 : !!value;
}

function writeFile(target, contents, mode) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, contents, { mode });
  fs.chmodSync(target, mode & 0o777 & ~process.umask());
}

function fetchTemplate(baseDir, outputRoot, input, values) {
  const templateDir = path.resolve(baseDir, input.url);
  const outputDir = path.resolve(outputRoot, input.targetPath ?? './');
  if (input.copyWithoutRender && input.copyWithoutTemplating) {
    throw new Error('Fetch action input copyWithoutRender and copyWithoutTemplating can not be used at the same time');
  }
  const copyOnly = input.copyWithoutRender || input.copyWithoutTemplating;
  const renderCopiedNames = !input.copyWithoutRender;
  if (copyOnly && !Array.isArray(copyOnly)) {
    throw new Error('Fetch action input copyWithoutRender/copyWithoutTemplating must be an Array');
  }
  if (input.templateFileExtension && (copyOnly || input.cookiecutterCompat)) {
    throw new Error('Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat');
  }
  let extension = false;
  if (input.templateFileExtension) {
    extension = input.templateFileExtension === true ? '.njk' : input.templateFileExtension;
    if (!extension.startsWith('.')) extension = `.${extension}`;
  }
  const listing = { cwd: templateDir, dot: true, onlyFiles: false, markDirectories: true, followSymbolicLinks: false };
  const entries = globby.sync('**/*', listing);
  const verbatim = new Set((copyOnly || []).flatMap(pattern => globby.sync(pattern, listing)));
  const context = { values };
  for (const location of entries) {
    let renderContents;
    let name = location;
    if (extension) {
      renderContents = path.extname(name) === extension;
      if (renderContents) name = name.slice(0, -extension.length);
      name = renderString(name, context);
    } else {
      renderContents = !verbatim.has(location);
      if (renderCopiedNames || renderContents) name = renderString(name, context);
    }
    if (name === '' || name.startsWith('/') || name.includes('//')) continue;
    const target = path.resolve(outputDir, name);
    if (!target.startsWith(outputRoot + path.sep)) throw new Error(`Relative path is not allowed to refer to a directory outside its parent: ${name}`);
    if (fs.existsSync(target) && !input.replace) continue;
    if (location.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    const source = path.join(templateDir, location);
    const stats = fs.lstatSync(source);
    if (stats.isSymbolicLink() || isBinaryFileSync(source)) {
      writeFile(target, fs.readFileSync(source), stats.mode);
    } else {
      const text = fs.readFileSync(source, 'utf-8');
      writeFile(target, renderContents ? renderString(text, context) : text, stats.mode);
    }
  }
}

function fetchPlain(baseDir, outputRoot, input) {
  const source = path.resolve(baseDir, input.url);
  const outputDir = path.resolve(outputRoot, input.targetPath ?? './');
  for (const location of globby.sync('**/*', { cwd: source, dot: true, followSymbolicLinks: false })) {
    const stats = fs.lstatSync(path.join(source, location));
    writeFile(path.join(outputDir, location), fs.readFileSync(path.join(source, location)), stats.mode);
  }
}

function fetchPlainFile(baseDir, outputRoot, input) {
  const source = path.resolve(baseDir, input.url);
  writeFile(path.resolve(outputRoot, input.targetPath), fs.readFileSync(source), fs.lstatSync(source).mode);
}

function main() {
  const [templateFile, parametersFile, outputDir] = process.argv.slice(2);
  const documents = YAML.parseAllDocuments(fs.readFileSync(templateFile, 'utf-8')).map(doc => doc.toJS());
  const template = documents.find(doc => doc && doc.kind === 'Template');
  const parameters = JSON.parse(fs.readFileSync(parametersFile, 'utf-8'));
  const baseDir = path.dirname(path.resolve(templateFile));
  const outputRoot = path.resolve(outputDir);
  fs.mkdirSync(outputRoot, { recursive: true });
  const context = { parameters, steps: {} };
  const report = { skipped: [], ran: [] };
  for (const step of template.spec.steps || []) {
    if (!String(step.action).startsWith('fetch:')) continue;
    if (step.if === false || (typeof step.if === 'string' && !isTruthy(renderInput(step.if, context)))) {
      report.skipped.push(step.id || step.action);
      continue;
    }
    const input = renderInput(step.input || {}, context) || {};
    if (step.action === 'fetch:template') fetchTemplate(baseDir, outputRoot, input, input.values || {});
    else if (step.action === 'fetch:plain') fetchPlain(baseDir, outputRoot, input);
    else if (step.action === 'fetch:plain:file') fetchPlainFile(baseDir, outputRoot, input);
    report.ran.push(step.id || step.action);
  }
  process.stdout.write(JSON.stringify(report));
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
