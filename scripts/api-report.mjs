#!/usr/bin/env node
// The package's public surface as reviewed files: one API report per entry point (api-extractor),
// written to etc/ by `npm run api:report`, and checked by `npm run api:check` (CI), which fails
// when the built .d.ts no longer match the committed reports, so a change of the public API
// shows up in review as a diff of etc/*.api.md.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = fileURLToPath(new URL('..', import.meta.url));
const local = process.argv.includes('--local');
const ENTRIES = [
  ['tokenwire', 'dist/server/index.d.ts'],
  ['tokenwire-client', 'dist/client/index.d.ts'],
  ['tokenwire-react', 'dist/client/react.d.ts'],
  ['tokenwire-protocol', 'dist/shared/index.d.ts'],
  ['tokenwire-redis', 'dist/server/fleet/redis/index.d.ts'],
  ['tokenwire-ai-sdk', 'dist/server/models/ai-sdk/index.d.ts'],
];
mkdirSync(`${root}etc`, { recursive: true });
mkdirSync(`${root}.api-temp`, { recursive: true });
let failed = 0;
for (const [name, entry] of ENTRIES) {
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: `<projectFolder>/${entry}`,
      compiler: { tsconfigFilePath: '<projectFolder>/tsconfig.build.json' },
      apiReport: { enabled: true, reportFileName: `${name}.api.md`, reportFolder: '<projectFolder>/etc/', reportTempFolder: '<projectFolder>/.api-temp/' },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      newlineKind: 'lf',
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: { default: { logLevel: 'warning' }, 'ae-missing-release-tag': { logLevel: 'none' } },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: `${root}api-extractor.json`,
    packageJsonFullPath: `${root}package.json`,
  });
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false });
  if (!result.succeeded || (!local && result.apiReportChanged)) {
    failed++;
    console.error(`${name}: the API report differs from etc/${name}.api.md (${result.errorCount} errors, ${result.warningCount} warnings); run npm run api:report and commit the diff if the change is meant`);
  } else console.log(`${name}: API report ${result.apiReportChanged ? 'updated' : 'unchanged'}`);
}
process.exit(failed ? 1 : 0);
