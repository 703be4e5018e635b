// Validates a release's datapackage.json with the Frictionless
// "datapackage" library (1.1.10): the descriptor against the bundled
// data-package profile, and every row of records.csv read through its
// Table Schema. Prints a one-line summary; exits 1 when invalid.
const { Package } = require('datapackage');

(async () => {
	const pkg = await Package.load(process.argv[2], { strict: false });
	if (!pkg.valid) {
		for (const e of pkg.errors)
			console.error(String(e));
		process.exit(1);
	}
	const rows = await pkg.getResource('records-csv').read({ keyed: true });
	console.log(`valid ${pkg.descriptor.profile}: ` +
		`${pkg.resources.length} resources, ${rows.length} rows`);
})().catch((e) => {
	console.error(String(e));
	process.exit(1);
});
