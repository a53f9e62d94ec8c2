/* http_outputs: the /v1/outputs API (docs/outputs.md). */
#ifndef EVD_OUTPUTS_HTTP_OUTPUTS_H
#define EVD_OUTPUTS_HTTP_OUTPUTS_H

struct server;
struct evhttp_request;

/* Requests under /v1/outputs (loop thread). */
void http_outputs_route(struct server *s, struct evhttp_request *req, const char *path,
                        const char *query);

#endif
