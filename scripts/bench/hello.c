/* The reference point of the HTTP benchmark (README "Performance"): the smallest libfcgi app,
 * THREADS threads each with its own FCGX_Request accepting on one unix socket, answering every
 * request with a fixed 200 body. Compiled by scripts/bench.sh:  gcc -O2 -pthread hello.c -lfcgi
 *
 * usage: hello SOCKET_PATH [THREADS]   (SIGTERM/SIGINT end it)
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd = -1;

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    "{\"hello\":\"world\"}\n";

static void *worker(void *unused) {
    (void)unused;
    FCGX_Request request;
    if (FCGX_InitRequest(&request, listen_fd, 0) != 0) return NULL;
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(response, (int)sizeof response - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH [THREADS]\n", argv[0]);
        return 64;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (threads < 1 || threads > 256) threads = 4;
    if (FCGX_Init() != 0) return 1;
    listen_fd = FCGX_OpenSocket(argv[1], 128);
    if (listen_fd < 0) {
        perror("FCGX_OpenSocket");
        return 1;
    }
    chmod(argv[1], 0660);

    /* FCGX_Init's SIGTERM handler only sets "shutdown pending": wait for the signal here and
     * exit the process (in-flight requests of a benchmark do not matter). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    pthread_t ids[256];
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
    int received = 0;
    sigwait(&set, &received);
    FCGX_ShutdownPending();
    shutdown(listen_fd, SHUT_RDWR);
    unlink(argv[1]);
    return 0;
}
