# tests/bench/feeds.awk - writes N different RSS 2.0 feeds d1.xml ... dN.xml
# into DIR for the benchmarks: each at least 2048 bytes and about MIN to
# MIN + SPAN bytes, items with distinct titles, links, guids, RFC 822 dates,
# dc:creator and an HTML description. Seeded: the same every time.
# Usage: awk -v n=N -v dir=DIR -v min=MIN -v span=SPAN -f feeds.awk
#    or: awk -v n=N -v dir=DIR -v items=K -f feeds.awk   (exactly K items
#        a feed, whatever their size)
function word() { return w[int(rand() * nw) + 1] }
function words(k,   s, i) {
	s = word()
	for (i = 1; i < k; i++)
		s = s " " word()
	return s
}
function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
BEGIN {
	srand(20240601)
	nw = split("consent record archive harvest network project " \
		"community research partner open data portal actor event " \
		"publication report culture heritage library museum " \
		"volunteer funding policy workshop meeting summary annual " \
		"regional national council study survey climate water " \
		"energy health education training digital platform " \
		"catalogue metadata licence public review update release " \
		"journal article conference proceedings interview story " \
		"photo gallery exhibition festival programme school " \
		"university foundation association cooperative initiative", w)
	split("Mon Tue Wed Thu Fri Sat Sun", dow)
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon)
	for (d = 1; d <= n; d++) {
		file = dir "/d" d ".xml"
		# At least 2048 bytes, then items while they fit the target.
		target = min + int(rand() * span)
		head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
			"<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n" \
			"<channel>\n" \
			"  <title>" cap(words(3)) " " d "</title>\n" \
			"  <link>https://feed" d ".example.org/</link>\n" \
			"  <description>" cap(words(12)) ".</description>\n" \
			"  <language>en</language>\n"
		tail = "</channel>\n</rss>\n"
		body = head
		for (i = 1; ; i++) {
			item = "  <item>\n" \
				"    <title>" cap(words(4 + int(rand() * 6))) "</title>\n" \
				"    <link>https://feed" d ".example.org/news/" d "-" i "</link>\n" \
				"    <guid isPermaLink=\"false\">feed" d "-item" i "-" int(rand() * 1e9) "</guid>\n" \
				"    <pubDate>" dow[int(rand() * 7) + 1] ", " sprintf("%02d", 1 + int(rand() * 28)) " " \
					mon[int(rand() * 12) + 1] " 2024 " sprintf("%02d:%02d:%02d", int(rand() * 24), \
					int(rand() * 60), int(rand() * 60)) " +0000</pubDate>\n" \
				"    <dc:creator>" cap(word()) " " cap(word()) "</dc:creator>\n" \
				"    <description>&lt;p&gt;" cap(words(20 + int(rand() * 40))) \
					".&lt;/p&gt;&lt;p&gt;" cap(words(10 + int(rand() * 30))) \
					".&lt;/p&gt;</description>\n" \
				"  </item>\n"
			if (items > 0 && i > items)
				break
			if (items <= 0 && length(body) + length(tail) >= 2048 &&
			    length(body) + length(item) + length(tail) > target)
				break
			body = body item
		}
		printf "%s%s", body, tail > file
		close(file)
	}
}
