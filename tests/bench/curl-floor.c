/*
 * The floor of the comparing benchmark (tests/bench/compare.py): the
 * requests one detection sends, sent with bare libcurl (one multi handle,
 * HTTP/2 multiplexing, the same TLS set-up) and the answers discarded.
 *
 *   curl-floor --server URL --cacert FILE --token TOKEN REQUESTS
 *
 * REQUESTS has one line per request: "GROUP<TAB>ACCEPT<TAB>PATH". Groups
 * run one after the other (a detection's rounds, a list's pages), the
 * requests of a group at once. Exit status 1 if any answer is not 2xx.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct req {
	int group;
	char *accept;
	char *path;
};

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static int
run_group(CURLM *multi, CURLSH *share, const struct req *reqs, size_t n, const char *server,
	  const char *cacert, const char *auth)
{
	CURL **easy = calloc(n, sizeof(*easy));
	struct curl_slist **hdrs = calloc(n, sizeof(*hdrs));
	char url[8192], accept[1024];
	int running = 1, failed = 0;
	size_t i;
	CURLMsg *m;
	int left;

	if (!easy || !hdrs)
		return -1;
	for (i = 0; i < n; i++) {
		easy[i] = curl_easy_init();
		snprintf(url, sizeof(url), "%s%s", server, reqs[i].path);
		snprintf(accept, sizeof(accept), "Accept: %s", reqs[i].accept);
		hdrs[i] = curl_slist_append(curl_slist_append(NULL, accept), auth);
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs[i]);
		curl_easy_setopt(easy[i], CURLOPT_CAINFO, cacert);
		curl_easy_setopt(easy[i], CURLOPT_CAPATH, NULL);
		curl_easy_setopt(easy[i], CURLOPT_ACCEPT_ENCODING, "gzip");
		curl_easy_setopt(easy[i], CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		curl_easy_setopt(easy[i], CURLOPT_PIPEWAIT, 1L);
		curl_easy_setopt(easy[i], CURLOPT_SHARE, share);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_multi_add_handle(multi, easy[i]);
	}
	while (running) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			return -1;
		if (running)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	while ((m = curl_multi_info_read(multi, &left))) {
		long code = 0;

		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (m->data.result != CURLE_OK || code < 200 || code > 299) {
			char *u = NULL;

			curl_easy_getinfo(m->easy_handle, CURLINFO_EFFECTIVE_URL, &u);
			fprintf(stderr, "curl-floor: %s: %s, HTTP %ld\n", u ? u : "?",
				curl_easy_strerror(m->data.result), code);
			failed = 1;
		}
	}
	for (i = 0; i < n; i++) {
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
		curl_slist_free_all(hdrs[i]);
	}
	free(easy);
	free(hdrs);
	return failed;
}

int
main(int argc, char **argv)
{
	const char *server = NULL, *cacert = NULL, *token = NULL, *file = NULL;
	struct req *reqs = NULL;
	size_t n = 0, cap = 0, i, start;
	char line[16384], auth[4096];
	FILE *f;
	CURLM *multi;
	CURLSH *share;
	int i_arg, rc = 0;

	for (i_arg = 1; i_arg < argc; i_arg++) {
		if (strcmp(argv[i_arg], "--server") == 0 && i_arg + 1 < argc)
			server = argv[++i_arg];
		else if (strcmp(argv[i_arg], "--cacert") == 0 && i_arg + 1 < argc)
			cacert = argv[++i_arg];
		else if (strcmp(argv[i_arg], "--token") == 0 && i_arg + 1 < argc)
			token = argv[++i_arg];
		else
			file = argv[i_arg];
	}
	if (!server || !cacert || !token || !file || !(f = fopen(file, "r"))) {
		fprintf(stderr, "usage: curl-floor --server URL --cacert FILE --token TOKEN REQUESTS\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;

		if (!tab2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*tab1 = *tab2 = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			reqs = realloc(reqs, cap * sizeof(*reqs));
			if (!reqs)
				return 2;
		}
		reqs[n].group = atoi(line);
		reqs[n].accept = strdup(tab1 + 1);
		reqs[n].path = strdup(tab2 + 1);
		n++;
	}
	fclose(f);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	share = curl_share_init();
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* groups in the file's order, each at once */
	for (start = 0; start < n && rc == 0; start = i) {
		for (i = start; i < n && reqs[i].group == reqs[start].group; i++)
			;
		rc = run_group(multi, share, reqs + start, i - start, server, cacert, auth);
	}
	curl_multi_cleanup(multi);
	curl_share_cleanup(share);
	curl_global_cleanup();
	for (i = 0; i < n; i++) {
		free(reqs[i].accept);
		free(reqs[i].path);
	}
	free(reqs);
	return rc ? 1 : 0;
}
