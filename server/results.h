/* Results API (results.c). */
#ifndef MP_SERVER_RESULTS_H
#define MP_SERVER_RESULTS_H

#include "server.h"

void mp_results_get(mp_server *s, const Meshplane__V1__GetResultRequest *in,
                    Meshplane__V1__Result_Closure done, void *cd);
void mp_results_list(mp_server *s, const Meshplane__V1__ListResultsRequest *in,
                     Meshplane__V1__ListResultsResponse_Closure done, void *cd);
void mp_results_export(mp_server *s, const Meshplane__V1__ExportResultRequest *in,
                       Meshplane__V1__ExportResultResponse_Closure done, void *cd);
void mp_results_compare(mp_server *s, const Meshplane__V1__CompareResultsRequest *in,
                        Meshplane__V1__CompareResultsResponse_Closure done, void *cd);

#endif
