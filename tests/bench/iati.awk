# tests/bench/iati.awk - writes N IATI 2.03 activity files a1.xml ... aN.xml
# into DIR for the benchmarks, each with PER activities (default 100), every
# activity different: iati-identifier, reporting-org, title and description
# narratives in English and French, activity-status, activity-date types 1-4,
# participating-org in roles 1-4, recipient-country with percentages that
# add up to 100, sectors (DAC 5-digit), yearly budgets with value/@currency,
# value-date and period, document-links, transactions (which cybil skips)
# and @last-updated-datetime. Seeded: the same every time.
# Usage: awk -v n=N -v dir=DIR [-v per=PER] -f iati.awk
function pick(a, k) { return a[int(rand() * k) + 1] }
function words(k,   s, i) {
	s = pick(w, nw)
	for (i = 1; i < k; i++)
		s = s " " pick(w, nw)
	return s
}
function mots(k,   s, i) {
	s = pick(fw, nfw)
	for (i = 1; i < k; i++)
		s = s " " pick(fw, nfw)
	return s
}
function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
function d2(x) { return sprintf("%02d", x) }
function day(y) { return y "-" d2(1 + int(rand() * 12)) "-" d2(1 + int(rand() * 28)) }
function narr(en, fr) {
	return "   <narrative>" en "</narrative>\n" \
		"   <narrative xml:lang=\"fr\">" fr "</narrative>\n"
}
# An organisation element NAME with ROLE (or none) and two narratives.
function org(name, role,   o, s) {
	o = int(rand() * norg) + 1
	s = "  <" name " ref=\"" oref[o] "\" type=\"" otype[o] "\""
	if (role != "")
		s = s " role=\"" role "\""
	return s ">\n" narr(oname[o], oname_fr[o]) "  </" name ">\n"
}
BEGIN {
	if (per == "")
		per = 100
	srand(20240602)
	nw = split("consent record archive harvest network project " \
		"community research partner open data portal water sanitation " \
		"health education training digital platform governance rural " \
		"urban climate resilience energy access schools clinics women " \
		"youth farmers markets roads justice elections budget support " \
		"capacity building monitoring evaluation reform services local " \
		"national regional district supply chain nutrition food", w)
	nfw = split("projet appui renforcement capacités santé éducation " \
		"eau assainissement gouvernance rurale urbaine climat énergie " \
		"accès écoles femmes jeunes agriculteurs marchés routes justice " \
		"élections budget suivi évaluation réforme services locaux " \
		"national régional district nutrition alimentation données", fw)
	nc = split("SN ML BF NE GH KE TZ UG RW ET MZ MW ZM CD CM CI BJ TG " \
		"NG MA TN EG JO LB PK BD NP KH LA VN PH ID HT BO PE CO GT HN", cc)
	nsec = split("11110 11220 12110 12220 12240 13020 14010 14020 14030 " \
		"15110 15130 15150 15160 21020 23110 23210 31120 31161 " \
		"32130 41010 43040 52010 72010 73010", sec)
	ncur = split("EUR USD GBP SEK CHF", cur)
	nfmt = split("application/pdf text/html " \
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document", fmt)
	ncat = split("A01 A02 A04 A05 A07 A08 A09 A11 A12 B01 B02", cat)
	ntype = split("10 15 21 22 40 80", otypes)
	nkind = split("Agency Foundation Ministry Trust Alliance", kinds)
	split("Agence Fondation Ministère Fonds Alliance", kinds_fr)
	norg = 40
	for (o = 1; o <= norg; o++) {
		oref[o] = "XM-DAC-" (40000 + o * 7)
		otype[o] = pick(otypes, ntype)
		k = int(rand() * nkind) + 1
		oname[o] = cap(words(2)) " " kinds[k]
		oname_fr[o] = kinds_fr[k] " " mots(2)
	}
	for (f = 1; f <= n; f++) {
		file = dir "/a" f ".xml"
		rep = int(rand() * norg) + 1
		printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
			"<iati-activities version=\"2.03\" generated-datetime=\"2024-%s-%sT06:00:00Z\">\n", \
			d2(1 + int(rand() * 12)), d2(1 + int(rand() * 28)) > file
		for (i = 1; i <= per; i++) {
			id = oref[rep] "-" f "-" i
			cu = pick(cur, ncur)
			y0 = 2015 + int(rand() * 9)
			years = 1 + int(rand() * 4)
			s = " <iati-activity xml:lang=\"en\" default-currency=\"" cu "\"" \
				" hierarchy=\"1\" last-updated-datetime=\"" day(2024) "T" \
				d2(int(rand() * 24)) ":" d2(int(rand() * 60)) ":00Z\">\n" \
				"  <iati-identifier>" id "</iati-identifier>\n" \
				"  <reporting-org ref=\"" oref[rep] "\" type=\"" otype[rep] "\">\n" \
				narr(oname[rep], oname_fr[rep]) "  </reporting-org>\n" \
				"  <title>\n" narr(cap(words(4 + int(rand() * 6))) " " f "-" i, \
					cap(mots(4 + int(rand() * 6))) " " f "-" i) "  </title>\n" \
				"  <description type=\"1\">\n" \
				narr(cap(words(30 + int(rand() * 50))) ".", \
					cap(mots(30 + int(rand() * 50))) ".") "  </description>\n" \
				"  <description type=\"2\">\n" \
				"   <narrative>" cap(words(15 + int(rand() * 20))) ".</narrative>\n" \
				"  </description>\n"
			for (r = 1; r <= 4; r++)
				if (r == 1 || rand() < 0.7)
					s = s org("participating-org", r)
			s = s "  <activity-status code=\"" (1 + int(rand() * 4)) "\"/>\n" \
				"  <activity-date iso-date=\"" day(y0) "\" type=\"1\"/>\n" \
				"  <activity-date iso-date=\"" day(y0) "\" type=\"2\"/>\n" \
				"  <activity-date iso-date=\"" day(y0 + years) "\" type=\"3\"/>\n"
			if (rand() < 0.5)
				s = s "  <activity-date iso-date=\"" day(y0 + years) "\" type=\"4\"/>\n"
			k = 1 + int(rand() * 3)
			left = 100
			for (c = 1; c <= k; c++) {
				pc = (c == k) ? left : int(left * (0.3 + rand() * 0.5))
				left -= pc
				s = s "  <recipient-country code=\"" pick(cc, nc) \
					"\" percentage=\"" pc "\"/>\n"
			}
			k = 1 + int(rand() * 3)
			left = 100
			for (c = 1; c <= k; c++) {
				pc = (c == k) ? left : int(left * (0.3 + rand() * 0.5))
				left -= pc
				s = s "  <sector vocabulary=\"1\" code=\"" pick(sec, nsec) \
					"\" percentage=\"" pc "\"/>\n"
			}
			for (y = y0; y < y0 + years; y++)
				s = s "  <budget type=\"1\" status=\"" (1 + int(rand() * 2)) "\">\n" \
					"   <period-start iso-date=\"" y "-01-01\"/>\n" \
					"   <period-end iso-date=\"" y "-12-31\"/>\n" \
					"   <value currency=\"" cu "\" value-date=\"" y "-01-01\">" \
					(1000 * (10 + int(rand() * 5000))) ".00</value>\n" \
					"  </budget>\n"
			for (t = 1; t <= 2; t++)
				s = s "  <transaction>\n" \
					"   <transaction-type code=\"" (t == 1 ? 2 : 3) "\"/>\n" \
					"   <transaction-date iso-date=\"" day(y0) "\"/>\n" \
					"   <value currency=\"" cu "\" value-date=\"" day(y0) "\">" \
					(100 * (10 + int(rand() * 50000))) "</value>\n" \
					"   <description><narrative>" cap(words(6)) "</narrative></description>\n" \
					"  </transaction>\n"
			k = int(rand() * 3)
			for (c = 1; c <= k; c++)
				s = s "  <document-link format=\"" pick(fmt, nfmt) \
					"\" url=\"https://docs.example.org/" oref[rep] "/" f "-" i "-" c ".pdf\">\n" \
					"   <title>\n" narr(cap(words(5)), cap(mots(5))) "   </title>\n" \
					"   <category code=\"" pick(cat, ncat) "\"/>\n" \
					"   <language code=\"" (rand() < 0.7 ? "en" : "fr") "\"/>\n" \
					"   <document-date iso-date=\"" day(y0 + 1) "\"/>\n" \
					"  </document-link>\n"
			printf "%s </iati-activity>\n", s > file
		}
		printf "</iati-activities>\n" > file
		close(file)
	}
}
