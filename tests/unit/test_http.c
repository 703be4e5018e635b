/* Unit tests of include/http.h: which addresses are private. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http.h"

static bool
private4(const char *text)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &sa.sin_addr), 1);
	return http_address_is_private((struct sockaddr *)&sa);
}

static bool
private6(const char *text)
{
	struct sockaddr_in6 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
	return http_address_is_private((struct sockaddr *)&sa);
}

static void
test_ipv4_private_ranges(void **state)
{
	static const char *const refused[] = {
		"0.0.0.0", "10.1.2.3", "127.0.0.1", "127.255.0.9",
		"100.64.0.1", "100.127.255.255", "169.254.169.254",
		"172.16.0.1", "172.31.255.255", "192.168.1.1", "192.0.0.8",
		"198.18.0.1", "198.19.255.255", "224.0.0.1",
		"239.255.255.250", "240.0.0.1", "255.255.255.255",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_true(private4(refused[i]));
}

static void
test_ipv4_public_neighbours(void **state)
{
	static const char *const allowed[] = {
		"1.1.1.1", "9.255.255.255", "11.0.0.1", "100.63.255.255",
		"100.128.0.0", "126.255.255.255", "128.0.0.1", "169.253.0.1",
		"172.15.255.255", "172.32.0.0", "192.167.255.255",
		"192.169.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "93.184.216.34",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		assert_false(private4(allowed[i]));
}

static void
test_ipv6(void **state)
{
	(void)state;
	assert_true(private6("::"));
	assert_true(private6("::1"));
	assert_true(private6("fe80::1"));
	assert_true(private6("fc00::1"));
	assert_true(private6("fd12:3456::1"));
	assert_true(private6("ff02::1"));
	assert_true(private6("::ffff:127.0.0.1"));
	assert_true(private6("::ffff:10.0.0.1"));
	assert_false(private6("::ffff:8.8.8.8"));
	assert_false(private6("2001:db8::1"));
	assert_false(private6("2a00:1450:4001::1"));
}

static void
test_other_families_refused(void **state)
{
	struct sockaddr sa;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_true(http_address_is_private(&sa));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_private_ranges),
		cmocka_unit_test(test_ipv4_public_neighbours),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_other_families_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
