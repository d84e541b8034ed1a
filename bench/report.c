/* q8conv-bench output: the table on stdout, JSON rows, and the SVG chart. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static double pct(double v, double ceiling) { return ceiling > 0 ? 100.0 * v / ceiling : NAN; }

/* GPU time of the DOT row of the same shape, the peer every ratio is taken against. */
static const bench_row *dot_row(const bench_report *r, const bench_shape *s)
{
    for (int i = 0; i < r->count; ++i)
        if (!strcmp(r->rows[i].shape.name, s->name) && r->rows[i].kernel == Q8CONV_KERNEL_DOT && !r->rows[i].cpu &&
            !r->rows[i].ablate && !r->rows[i].tile_forced)
            return &r->rows[i];
    return NULL;
}

/* A row's headline time: the chained figure of a GPU row, the wall time of a CPU row. */
static double headline_us(const bench_row *w) { return w->cpu ? w->gpu_us : w->chained_us; }

static int has_dot(const bench_report *r) { return r->roof.valid && r->roof.dot_tops > 0; }
static int has_copy(const bench_report *r) { return r->roof.valid && r->roof.copy_gbps > 0; }

/* A number in a fixed-width column, or "-" where there is none. */
static void cell(char *buf, size_t size, const char *fmt, double v)
{
    if (isfinite(v))
        snprintf(buf, size, fmt, v);
    else
        snprintf(buf, size, "-");
}

/* Distinct variant names in order of first appearance; returns how many (at most cap). */
static int list_variants(const bench_report *r, const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < r->count && n < cap; ++i) {
        int seen = 0;
        for (int j = 0; j < n; ++j)
            seen |= !strcmp(out[j], r->rows[i].variant);
        if (!seen)
            out[n++] = r->rows[i].variant;
    }
    return n;
}

/* Kernels, their stage ablations and forced tiles (tuning builds) each make a variant. */
#define REPORT_MAX_VARIANTS 48

/* The network's weighted total of a variant: the headline time of each of its shapes times the
 * shape's count; *layers gets the sum of the counts. */
static double weighted_total(const bench_report *r, const char *variant, unsigned *layers)
{
    double total = 0;
    *layers = 0;
    for (int i = 0; i < r->count; ++i)
        if (r->rows[i].shape.in_total && !strcmp(r->rows[i].variant, variant)) {
            total += headline_us(&r->rows[i]) * r->rows[i].shape.count;
            *layers += r->rows[i].shape.count;
        }
    return total;
}

static const bench_network *network_of(const bench_report *r, const char *variant)
{
    for (int i = 0; i < r->network_count; ++i)
        if (!strcmp(r->networks[i].variant, variant))
            return &r->networks[i];
    return NULL;
}

/* The part of the measured network that the dispatch floor alone accounts for. */
static double floor_share(const bench_report *r, const bench_network *n)
{
    return r->floor.valid && n->us > 0 ? n->layers * r->floor.us / n->us : NAN;
}

/* A GPU row against its shape's own floor (bench_floor_layer): the floor, chained time over it,
 * and chained time minus it; NAN where there is none. */
static double layer_floor(const bench_row *w) { return !w->cpu && w->floor_layer_us > 0 ? w->floor_layer_us : NAN; }
static double layer_floor_ratio(const bench_row *w) { return w->chained_us / layer_floor(w); }
static double over_layer_floor(const bench_row *w) { return w->chained_us - layer_floor(w); }

/* A network's time (cold or warm) over the sum of its layers' own floors. */
static double network_floor_ratio(const bench_report *r, const bench_network *n)
{
    return r->network_floor_us > 0 && n->us > 0 ? n->us / r->network_floor_us : NAN;
}
static double network_warm_floor_ratio(const bench_report *r, const bench_network *n)
{
    return r->network_floor_us > 0 && n->warm_us > 0 ? n->warm_us / r->network_floor_us : NAN;
}
/* The warm figure over the network of floors, recorded the same way: like for like. */
static double network_warm_floors_ratio(const bench_report *r, const bench_network *n)
{
    return r->network_floors_us > 0 && n->warm_us > 0 ? n->warm_us / r->network_floors_us : NAN;
}

/* The network of AUTO, the kernel a q8conv_sequence runs; NULL when it was not among the variants. */
static const bench_network *network_auto(const bench_report *r)
{
    for (int i = 0; i < r->network_count; ++i)
        if (r->networks[i].kernel == Q8CONV_KERNEL_AUTO)
            return &r->networks[i];
    return NULL;
}

static const char *ablate_name(int level)
{
    static const char *names[] = {"real kernel", "no K loop", "no epilogue", "no stores", "products only",
                                  "loads and staging only"};
    return level >= 0 && level <= 5 ? names[level] : "?";
}

/* The first GPU row of a shape: its dot kernel's where there is one. */
static const bench_row *first_gpu_row(const bench_report *r, const bench_shape *s)
{
    const bench_row *d = dot_row(r, s);
    if (d)
        return d;
    for (int i = 0; i < r->count; ++i)
        if (!strcmp(r->rows[i].shape.name, s->name) && !r->rows[i].cpu)
            return &r->rows[i];
    return NULL;
}

/* N,H,W,IC,OC, and /s<stride> for a strided shape. */
static void shape_text(const bench_shape *s, char *buf, size_t size)
{
    int len = snprintf(buf, size, "%u,%u,%u,%u,%u", s->n, s->h, s->w, s->ic, s->oc);
    if (s->stride > 1 && len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, "/s%u", s->stride);
}

/* Tuning builds: each stage ablation beside its real kernel's chained time. */
static void print_ablations(const bench_report *r)
{
    int any = 0;
    for (int i = 0; i < r->count; ++i)
        any |= r->rows[i].ablate;
    if (!any)
        return;
    printf("\nstage ablations (tuning build, ABLATE constant_id 13; outputs not checked), chained us:\n");
    printf("%-16s %-20s %-18s %5s %-22s %9s %9s %9s %9s\n", "layer", "N,H,W,IC,OC", "kernel", "level", "left out",
           "chain_us", "real_us", "saved_us", "lfloor_us");
    for (int i = 0; i < r->count; ++i) {
        const bench_row *w = &r->rows[i];
        if (!w->ablate)
            continue;
        char shape[48], kernel[48], lfl[16];
        shape_text(&w->shape, shape, sizeof shape);
        snprintf(kernel, sizeof kernel, "%s", w->variant);
        char *cut = strstr(kernel, " ablate=");
        if (cut)
            *cut = 0;
        cell(lfl, sizeof lfl, "%.2f", layer_floor(w));
        printf("%-16s %-20s %-18s %5d %-22s %9.2f %9.2f %9.2f %9s\n", w->shape.name, shape, kernel, w->ablate,
               ablate_name(w->ablate), w->chained_us, w->real_chained_us, w->real_chained_us - w->chained_us, lfl);
    }
    printf("saved_us: the real kernel's chain_us minus the ablated one's, same run: what the stage left out costs\n"
           "where it does not overlap the others.\n");
}

void bench_print_table(const bench_report *r)
{
    const q8conv_context_info *in = &r->info;
    printf("device: %s | driver: %s %s | Vulkan %u.%u.%u | int8 dot: %s%s\n", in->device_name, in->driver_name,
           in->driver_info, VK_API_VERSION_MAJOR(in->api_version), VK_API_VERSION_MINOR(in->api_version),
           VK_API_VERSION_PATCH(in->api_version), in->integer_dot_product_supported ? "yes" : "no",
           in->integer_dot_product_accelerated ? " (accelerated)" : "");
    printf("suite: %s | reps: %d per batch, chained: median of %d batches (after %.0f ms of GPU warm-up per "
           "measurement) | layout: %s | activations: %s | weights: %s\n",
           r->suite, r->opt->reps, r->opt->batches, r->opt->warmup_ms,
           r->opt->layout == Q8CONV_LAYOUT_4W4C ? "4W4C" : "4C1W", r->opt->dtype == Q8CONV_DTYPE_UINT8 ? "uint8" : "int8",
           r->opt->weights == Q8CONV_DTYPE_UINT8 ? "uint8, zero point " BENCH_STR(BENCH_WEIGHT_ZP) : "int8");
    if (r->floor.valid)
        printf("dispatch floor: empty dispatch + compute barrier %.3f us, without the barrier %.3f us (%d chained, "
               "median of %d batches)\n",
               r->floor.us, r->floor.nobarrier_us, r->opt->reps, r->opt->batches);
    if (r->floor.valid && r->floor.copy_us > 0)
        printf("dispatch floor with memory: a %u KiB copy (read + as much written) + compute barrier %.3f us\n",
               BENCH_FLOOR_COPY_BYTES / 1024u, r->floor.copy_us);
    if (!r->floor.valid)
        printf("dispatch floor: not measured (see the errors above)\n");
    if (r->roof.valid) {
        /* Both copy methods: %copy is taken against the faster one, and the gap between them says
         * whether vkCmdCopyBuffer alone would have been a usable ceiling on this device. */
        char dot[32], shader[32], cmd[32];
        cell(dot, sizeof dot, "%.3g TOPS", has_dot(r) ? r->roof.dot_tops : NAN);
        cell(shader, sizeof shader, "%.4g GB/s", r->roof.copy_shader_gbps > 0 ? r->roof.copy_shader_gbps : NAN);
        cell(cmd, sizeof cmd, "%.4g GB/s", r->roof.copy_cmd_gbps > 0 ? r->roof.copy_cmd_gbps : NAN);
        printf("measured ceilings: packed int8 dot %s, copy (read + write) %s (shader), %s (vkCmdCopyBuffer)\n", dot,
               shader, cmd);
        if (r->roof.coopmat_tops > 0)
            printf("measured ceiling: int8 cooperative matrices %.4g TOPS\n", r->roof.coopmat_tops);
    }
    printf("\n%-16s %-20s %-18s %4s %10s %10s %9s %8s %9s %9s %9s %8s %6s %6s %7s %9s %7s %5s\n", "layer",
           "N,H,W,IC,OC", "variant", "sets", "chain_us", "over_floor", "lfloor_us", "x_lfloor", "+lfloor", "per_run",
           "GOPS", "GB/s", "%dot", "%copy", "t/t_dot", "run_us", "rec_us", "exact");
    for (int i = 0; i < r->count; ++i) {
        const bench_row *w = &r->rows[i];
        if (i > 0 && strcmp(w->shape.name, r->rows[i - 1].shape.name))
            putchar('\n');
        char shape[48];
        shape_text(&w->shape, shape, sizeof shape);
        const bench_row *d = dot_row(r, &w->shape);
        char sets[16], over[16], lfl[16], xlfl[16], plfl[16], per_run[16], pdot[16], pcopy[16], ratio[16], run[16],
            rec[16], exact[16];
        cell(sets, sizeof sets, "%.0f", w->cpu ? NAN : (double)w->sets);
        cell(over, sizeof over, "%.2f", w->cpu || !r->floor.valid ? NAN : w->chained_us - r->floor.us);
        cell(lfl, sizeof lfl, "%.2f", layer_floor(w));
        cell(xlfl, sizeof xlfl, "%.2fx", layer_floor_ratio(w));
        cell(plfl, sizeof plfl, "%.2f", over_layer_floor(w));
        cell(per_run, sizeof per_run, "%.2f", w->cpu ? NAN : w->gpu_us);
        cell(pdot, sizeof pdot, "%.1f", w->cpu || !has_dot(r) ? NAN : pct(w->gops * 1e-3, r->roof.dot_tops));
        cell(pcopy, sizeof pcopy, "%.1f", w->cpu || !has_copy(r) ? NAN : pct(w->gbps, r->roof.copy_gbps));
        cell(ratio, sizeof ratio, "%.2fx", d && headline_us(d) > 0 && w != d ? headline_us(w) / headline_us(d) : NAN);
        cell(run, sizeof run, "%.1f", w->cpu ? NAN : w->run_us);
        cell(rec, sizeof rec, "%.2f", w->cpu ? NAN : w->record_us);
        if (w->ablate)
            snprintf(exact, sizeof exact, "abl"); /* wrong by design, never checked */
        else if (w->checked)
            snprintf(exact, sizeof exact, "%s", w->exact ? "yes" : "NO");
        else if (w->compared)
            snprintf(exact, sizeof exact, "~%d", w->max_abs_diff);
        else
            snprintf(exact, sizeof exact, "-");
        printf("%-16s %-20s %-18s %4s %10.2f %10s %9s %8s %9s %9s %9.2f %8.2f %6s %6s %7s %9s %7s %5s\n", w->shape.name,
               shape, w->variant, sets, headline_us(w), over, lfl, xlfl, plfl, per_run, w->gops, w->gbps, pdot, pcopy,
               ratio, run, rec, exact);
    }
    printf("\nchain_us: GPU time per run, runs chained with the barrier between dependent layers, timestamps at\n"
           "the ends of each batch only (CPU rows: wall time of one run); over_floor: chain_us minus the dispatch\n"
           "floor (an empty dispatch); lfloor_us: the layer's own floor, a copy of exactly its bytes (padded input\n"
           "and output, packed weights and channel constants), chained and rotated the same way in the same run;\n"
           "x_lfloor: chain_us / lfloor_us; +lfloor: chain_us - lfloor_us; per_run: GPU time of one run with\n"
           "timestamps around it, which adds their own cost; GOPS\n"
           "(2 ops per MAC), GB/s (input, weights and output once), %%dot, %%copy and t/t_dot (time over the dot\n"
           "kernel's) from chain_us; run_us: q8conv_pw_run end to end on the host; rec_us: host time of\n"
           "q8conv_pw_record; exact: byte-identical to the CPU reference after the per-run and after the chained\n"
           "runs (~k: not claimed, own requantization; largest difference k from the reference; abl: a stage\n"
           "ablation, wrong by design, not checked).\n");
    print_ablations(r);

    /* Whole network: each distinct shape of the network weighted by how many layers have it, beside
     * the network measured as one command buffer. The extra shapes of the full suite are not
     * layers of it. */
    const char *variants[REPORT_MAX_VARIANTS];
    const int nv = list_variants(r, variants, REPORT_MAX_VARIANTS);
    unsigned most = 0;
    for (int v = 0; v < nv; ++v) {
        unsigned layers = 0;
        weighted_total(r, variants[v], &layers);
        most = layers > most ? layers : most;
    }
    if (most == 0)
        return;
    printf("\nwhole network (%s), %u layers", r->network_name ? r->network_name : "?", most);
    if (r->network_count)
        printf(", recorded %s", r->network_chained_order
                                    ? "in network order (each layer's IC is the previous layer's OC)"
                                    : "in the list's order, each shape count times");
    printf(":\n  %-18s %6s %10s %10s %8s %7s %9s %8s %7s %4s %9s\n", "variant", "layers", "sum_chain", "network_us",
           "warm_us", "floor%", "x_lfloors", "warm_xlf", "x_fnet", "sets", "exact");
    for (int v = 0; v < nv; ++v) {
        unsigned layers = 0;
        const double total = weighted_total(r, variants[v], &layers);
        if (!layers)
            continue;
        const bench_network *n = network_of(r, variants[v]);
        char measured[32], warm[32], share[16], xlf[16], wxlf[16], xfnet[16], sets[16], exact[16];
        cell(measured, sizeof measured, "%.1f", n ? n->us : NAN);
        cell(warm, sizeof warm, "%.1f", n ? n->warm_us : NAN);
        cell(share, sizeof share, "%.1f", n ? floor_share(r, n) * 100.0 : NAN);
        cell(xlf, sizeof xlf, "%.2fx", n ? network_floor_ratio(r, n) : NAN);
        cell(wxlf, sizeof wxlf, "%.2fx", n ? network_warm_floor_ratio(r, n) : NAN);
        cell(xfnet, sizeof xfnet, "%.2fx", n ? network_warm_floors_ratio(r, n) : NAN);
        cell(sets, sizeof sets, "%.0f", n ? (double)n->sets : NAN);
        snprintf(exact, sizeof exact, "%s", !n || !n->checked                ? "-"
                                            : n->exact && n->warm_exact      ? "yes"
                                            : n->exact                       ? "NO (warm)"
                                            : n->warm_exact                  ? "NO (cold)"
                                                                             : "NO");
        printf("  %-18s %6u %10.1f %10s %8s %7s %9s %8s %7s %4s %9s%s\n", variants[v], layers, total, measured, warm,
               share, xlf, wxlf, xfnet, sets, exact, layers < most ? " (some shapes skipped)" : "");
    }
    printf("sum_chain: the layers chained apart, each shape's chain_us (CPU rows: wall time) times its count.\n"
           "network_us (cold): one pass over every layer in one command buffer, the compute barrier before each,\n"
           "  each layer its own tensors, the sets rotating across passes (activations from DRAM).\n"
           "warm_us (runtime order): the same, the activations chained through two buffers, each layer reading\n"
           "  what the one before just wrote (what a runtime pays).\n"
           "Both: %d passes per batch, median of %d batches; floor%%: layers x dispatch floor / network_us;\n"
           "x_lfloors, warm_xlf: network_us, warm_us over the sum of the layers' own floors (each x its count);\n"
           "x_fnet: warm_us over the network of floors (each layer's floor copy recorded the way warm_us is).\n",
           r->opt->reps, r->opt->batches);
    if (r->network_floor_us > 0)
        printf("The sum of the network's layers' own floors, each measured apart: %.1f us.\n", r->network_floor_us);
    if (r->network_floors_us > 0)
        printf("The network of floors, in runtime order in one command buffer: %.1f us per pass.\n",
               r->network_floors_us);
    if (r->network_count) {
        const bench_network *n = &r->networks[0];
        if (n->sets > 1)
            printf("The cold figure's tensors (%.2f MiB a set) rotate over %d sets across passes, so a pass does not\n"
                   "find the previous pass's tensors in the cache; the weights are one per layer.\n",
                   n->set_bytes / (1 << 20), n->sets);
        else
            printf("The network's tensors (%.2f MiB) exceed the rotation budget (--rotate-mb): one set, used by every\n"
                   "pass of the cold figure, so caches may hold part of it from the previous pass.\n",
                   n->set_bytes / (1 << 20));
    }
}

/* ---- host wall time (host_time.c measures it) ---- */

void bench_print_host(const bench_report *r)
{
    printf("\nhost wall time per call (median of %d after %d untimed ones):\n", r->opt->reps, BENCH_HOST_WARMUP);
    printf("%-16s %-20s %-18s %10s %12s %12s\n", "layer", "N,H,W,IC,OC", "variant", "time_us", "host_run_us",
           "host_poll_us");
    for (int i = 0; i < r->count; ++i) {
        const bench_row *w = &r->rows[i];
        if (w->cpu || isnan(w->host_run_us))
            continue;
        char shape[48];
        shape_text(&w->shape, shape, sizeof shape);
        printf("%-16s %-20s %-18s %10.2f %12.1f %12.1f\n", w->shape.name, shape, w->variant, w->gpu_us, w->host_run_us,
               w->host_run_poll_us);
    }
    printf("host_run_us / host_poll_us: q8conv_pw_run on the same op and tensors again (a submit and a wait), host\n"
           "wall clock, on a context that blocks / one that polls (Q8CONV_WAIT_POLL); time_us: the layer's GPU time.\n");
    const bench_host_network *n = &r->network_host;
    if (n->layers > 0 && !isnan(n->block_us)) {
        const bench_network *a = network_auto(r);
        char gpu[32], diff[32];
        cell(gpu, sizeof gpu, "%.1f us", a ? a->warm_us : NAN);
        cell(diff, sizeof diff, "%+.1f us", a ? n->poll_us - a->warm_us : NAN);
        char beyond[32];
        cell(beyond, sizeof beyond, "%+.1f us", a ? n->poll_us - a->warm_us - n->submit_floor_poll_us : NAN);
        printf("\nthe network as one q8conv_sequence (%d layers, AUTO: the first is %s, in runtime order):\n"
               "  host wall time per q8conv_sequence_run: %.1f us blocking, %.1f us polling; last layer exact: %s\n"
               "  GPU time of the same network in runtime order (auto, warm_us): %s; polling host - GPU: %s%s\n"
               "  submission floor (an empty command buffer, vkQueueSubmit + the fence wait as the library's,\n"
               "  the bench's own on each context's queue): %.1f us blocking, %.1f us polling\n"
               "  its first layer (%s, GPU time in the table above) alone as a sequence: %.1f us blocking, %.1f us polling\n"
               "  polling host - GPU - submission floor: %s (what the sequence adds beyond one submission)\n",
               n->layers, q8conv_kernel_name(n->kernel), n->block_us, n->poll_us,
               n->checked ? (n->exact ? "yes" : "NO") : "-", gpu, diff, a ? "" : " (auto was not among --variants)",
               n->submit_floor_us, n->submit_floor_poll_us, n->first.name, n->one_layer_us, n->one_layer_poll_us, beyond);
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.4f", v);
    else
        fputs("null", f);
}

/* "network": what was measured, and one entry per kernel variant. */
static void write_json_network(FILE *f, const bench_report *r)
{
    const char *variants[REPORT_MAX_VARIANTS];
    const int nv = list_variants(r, variants, REPORT_MAX_VARIANTS);
    if (!r->network_count) {
        fputs("  \"network\": null,\n", f);
        return;
    }
    fputs("  \"network\": {\"name\": ", f);
    json_string(f, r->network_name ? r->network_name : "");
    fprintf(f, ", \"layers\": %d, \"order\": \"%s\", \"passes\": %d, \"batches\": %d, \"floor_layers_sum_us\": ",
            r->networks[0].layers, r->network_chained_order ? "channels" : "list", r->opt->reps, r->opt->batches);
    json_number(f, r->network_floor_us > 0 ? r->network_floor_us : NAN);
    fputs(", \"floors_network_us\": ", f);
    json_number(f, r->network_floors_us > 0 ? r->network_floors_us : NAN);
    fputs(", \"variants\": [\n", f);
    for (int i = 0; i < r->network_count; ++i) {
        const bench_network *n = &r->networks[i];
        unsigned layers = 0;
        double total = NAN;
        for (int v = 0; v < nv; ++v)
            if (!strcmp(variants[v], n->variant))
                total = weighted_total(r, n->variant, &layers);
        fputs("    {\"variant\": ", f);
        json_string(f, n->variant);
        fputs(", \"kernel\": ", f);
        json_string(f, q8conv_kernel_name(n->kernel));
        fputs(", \"network_us\": ", f);
        json_number(f, n->us);
        /* Only a sum over every layer compares with the network. */
        fputs(", \"sum_chained_us\": ", f);
        json_number(f, layers == (unsigned)n->layers ? total : NAN);
        fputs(", \"floor_share\": ", f);
        json_number(f, floor_share(r, n));
        fputs(", \"over_layer_floors\": ", f);
        json_number(f, network_floor_ratio(r, n));
        fprintf(f, ", \"sets\": %d, \"set_bytes\": %.0f, \"submissions\": %d, \"exact\": %s", n->sets,
                n->set_bytes, n->submissions, !n->checked ? "null" : n->exact ? "true" : "false");
        /* The runtime-order figure: the activations chained through two buffers (network.c). */
        fputs(", \"network_warm_us\": ", f);
        json_number(f, n->warm_us > 0 ? n->warm_us : NAN);
        fputs(", \"warm_over_layer_floors\": ", f);
        json_number(f, network_warm_floor_ratio(r, n));
        fputs(", \"warm_over_floors_network\": ", f);
        json_number(f, network_warm_floors_ratio(r, n));
        fprintf(f, ", \"warm_submissions\": %d, \"warm_exact\": %s}%s\n", n->warm_submissions,
                !n->checked ? "null" : n->warm_exact ? "true" : "false", i + 1 < r->network_count ? "," : "");
    }
    fputs("  ]},\n", f);
}

/* One object: the device, the measured ceilings, the dispatch floor, the network ("network": null
 * when the shapes make none), and "rows", one object per (shape, variant). A row's gpu_us is its
 * headline time: chained_us for a GPU row, the wall time for a CPU row; per_run_us is the GPU
 * time of one run with timestamps around it. */
int bench_write_json(const bench_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const q8conv_context_info *in = &r->info;
    fputs("{\n  \"device\": {\"name\": ", f);
    json_string(f, in->device_name);
    fputs(", \"driver\": ", f);
    json_string(f, in->driver_name);
    fputs(", \"driver_info\": ", f);
    json_string(f, in->driver_info);
    fprintf(f, ", \"vulkan\": \"%u.%u.%u\", \"integer_dot_product\": %s, \"integer_dot_product_accelerated\": %s},\n",
            VK_API_VERSION_MAJOR(in->api_version), VK_API_VERSION_MINOR(in->api_version),
            VK_API_VERSION_PATCH(in->api_version), in->integer_dot_product_supported ? "true" : "false",
            in->integer_dot_product_accelerated ? "true" : "false");
    fputs("  \"suite\": ", f);
    json_string(f, r->suite);
    fprintf(f, ", \"reps\": %d, \"batches\": %d, \"warmup_ms\": %.0f, \"layout\": \"%s\", \"dtype\": \"%s\", "
               "\"weights\": \"%s\",\n",
            r->opt->reps, r->opt->batches, r->opt->warmup_ms, r->opt->layout == Q8CONV_LAYOUT_4W4C ? "4w4c" : "4c1w",
            r->opt->dtype == Q8CONV_DTYPE_UINT8 ? "u8" : "s8", r->opt->weights == Q8CONV_DTYPE_UINT8 ? "u8" : "s8");
    fputs("  \"roofline\": {\"dot_tops\": ", f);
    json_number(f, has_dot(r) ? r->roof.dot_tops : NAN);
    fputs(", \"coopmat_tops\": ", f);
    json_number(f, r->roof.valid && r->roof.coopmat_tops > 0 ? r->roof.coopmat_tops : NAN);
    fputs(", \"copy_gbps\": ", f);
    json_number(f, has_copy(r) ? r->roof.copy_gbps : NAN);
    fputs(", \"copy_shader_gbps\": ", f);
    json_number(f, r->roof.valid && r->roof.copy_shader_gbps > 0 ? r->roof.copy_shader_gbps : NAN);
    fputs(", \"copy_cmd_gbps\": ", f);
    json_number(f, r->roof.valid && r->roof.copy_cmd_gbps > 0 ? r->roof.copy_cmd_gbps : NAN);
    fputs("},\n  \"floor\": {\"us\": ", f);
    json_number(f, r->floor.valid ? r->floor.us : NAN);
    fputs(", \"nobarrier_us\": ", f);
    json_number(f, r->floor.valid ? r->floor.nobarrier_us : NAN);
    fprintf(f, ", \"copy_bytes\": %u, \"copy_us\": ", BENCH_FLOOR_COPY_BYTES);
    json_number(f, r->floor.valid && r->floor.copy_us > 0 ? r->floor.copy_us : NAN);
    fprintf(f, ", \"chained\": %d, \"batches\": %d},\n", r->opt->reps, r->opt->batches);
    write_json_network(f, r);
    const bench_host_network *net = &r->network_host;
    fprintf(f, "  \"network_layers\": %d, \"network_kernel\": ", net->layers);
    json_string(f, net->layers ? q8conv_kernel_name(net->kernel) : "");
    fputs(", \"network_host_us\": ", f);
    json_number(f, net->layers ? net->block_us : NAN);
    fputs(", \"network_host_poll_us\": ", f);
    json_number(f, net->layers ? net->poll_us : NAN);
    fprintf(f, ", \"network_host_exact\": %s", !net->checked ? "null" : net->exact ? "true" : "false");
    /* The sequence beside the same network's runtime-order GPU time with AUTO. */
    const bench_network *net_auto = network_auto(r);
    fputs(", \"network_host_gpu_warm_us\": ", f);
    json_number(f, net->layers && net_auto ? net_auto->warm_us : NAN);
    fputs(", \"network_host_poll_minus_gpu_us\": ", f);
    json_number(f, net->layers && net_auto ? net->poll_us - net_auto->warm_us : NAN);
    /* One empty submission waited for (blocking, polling), the first layer alone as a sequence. */
    fputs(",\n  \"network_host_submit_floor_us\": ", f);
    json_number(f, net->layers ? net->submit_floor_us : NAN);
    fputs(", \"network_host_submit_floor_poll_us\": ", f);
    json_number(f, net->layers ? net->submit_floor_poll_us : NAN);
    fputs(", \"network_host_one_layer_us\": ", f);
    json_number(f, net->layers ? net->one_layer_us : NAN);
    fputs(", \"network_host_one_layer_poll_us\": ", f);
    json_number(f, net->layers ? net->one_layer_poll_us : NAN);
    fputs(", \"network_host_poll_minus_gpu_minus_floor_us\": ", f);
    json_number(f, net->layers && net_auto ? net->poll_us - net_auto->warm_us - net->submit_floor_poll_us : NAN);
    fputs(",\n", f);
    fputs("  \"rows\": [\n", f);
    for (int i = 0; i < r->count; ++i) {
        const bench_row *w = &r->rows[i];
        fputs("    {\"shape\": ", f);
        json_string(f, w->shape.name);
        fprintf(f, ", \"n\": %u, \"h\": %u, \"w\": %u, \"ic\": %u, \"oc\": %u, \"count\": %u, \"stride\": %u, \"variant\": ",
                w->shape.n, w->shape.h, w->shape.w, w->shape.ic, w->shape.oc, w->shape.count,
                w->shape.stride > 1 ? w->shape.stride : 1u);
        json_string(f, w->variant);
        fprintf(f, ", \"cpu\": %s, \"kernel\": ", w->cpu ? "true" : "false");
        json_string(f, w->cpu ? "cpu" : q8conv_kernel_name(w->kernel));
        fputs(", \"gpu_us\": ", f);
        json_number(f, headline_us(w));
        fputs(", \"chained_us\": ", f);
        json_number(f, w->cpu ? NAN : w->chained_us);
        fputs(", \"per_run_us\": ", f);
        json_number(f, w->cpu ? NAN : w->gpu_us);
        fputs(", \"floor_us\": ", f);
        json_number(f, w->cpu || !r->floor.valid ? NAN : r->floor.us);
        fputs(", \"over_floor_us\": ", f);
        json_number(f, w->cpu || !r->floor.valid ? NAN : w->chained_us - r->floor.us);
        fputs(", \"floor_layer_us\": ", f);
        json_number(f, layer_floor(w));
        fputs(", \"layer_floor_ratio\": ", f);
        json_number(f, layer_floor_ratio(w));
        fputs(", \"over_layer_floor_us\": ", f);
        json_number(f, over_layer_floor(w));
        if (w->ablate) {
            fprintf(f, ", \"ablate\": %d, \"ablate_left_out\": \"%s\", \"real_chained_us\": ", w->ablate,
                    ablate_name(w->ablate));
            json_number(f, w->real_chained_us);
            fputs(", \"ablate_saved_us\": ", f);
            json_number(f, w->real_chained_us - w->chained_us);
        }
        if (w->tile_forced)
            fputs(", \"tile_forced\": true", f);
        fputs(", \"gops\": ", f);
        json_number(f, w->gops);
        fputs(", \"gbps\": ", f);
        json_number(f, w->gbps);
        fputs(", \"run_us\": ", f);
        json_number(f, w->cpu ? NAN : w->run_us);
        fputs(", \"record_us\": ", f);
        json_number(f, w->cpu ? NAN : w->record_us);
        fputs(", \"host_run_us\": ", f);
        json_number(f, w->cpu ? NAN : w->host_run_us);
        fputs(", \"host_run_poll_us\": ", f);
        json_number(f, w->cpu ? NAN : w->host_run_poll_us);
        fputs(", \"pct_dot\": ", f);
        json_number(f, w->cpu || !has_dot(r) ? NAN : pct(w->gops * 1e-3, r->roof.dot_tops));
        fputs(", \"pct_copy\": ", f);
        json_number(f, w->cpu || !has_copy(r) ? NAN : pct(w->gbps, r->roof.copy_gbps));
        fputs(", \"pct_coopmat\": ", f);
        json_number(f, w->cpu || !(r->roof.valid && r->roof.coopmat_tops > 0) ? NAN
                                                                              : pct(w->gops * 1e-3, r->roof.coopmat_tops));
        fprintf(f, ", \"sets\": %d, \"exact\": %s", w->sets, !w->checked ? "null" : w->exact ? "true" : "false");
        if (w->compared) {
            fprintf(f, ", \"max_abs_diff\": %d, \"diff_frac\": ", w->max_abs_diff);
            json_number(f, w->diff_frac);
        }
        fprintf(f, "}%s\n", i + 1 < r->count ? "," : "");
    }
    fputs("  ]\n}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- SVG: bars per shape, and the roofline ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; ++s) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}

/* Stable colours per kind of variant, so two charts compare at a glance: the GPU kernels in
 * blues and purple, the CPU peers in grey and oranges. */
static const char *variant_color(const char *v, int index)
{
    static const char *spare[] = {"#2ca02c", "#e377c2", "#bcbd22", "#17becf"};
    if (strstr(v, "dot_mixed"))
        return "#3d3d9e";
    if (strstr(v, "dot"))
        return "#1f5fa8";
    if (strstr(v, "legacy"))
        return "#62a8dc";
    if (strstr(v, "fallback"))
        return "#8c6bb1";
    if (strstr(v, "reference"))
        return "#8a8a8a";
    if (strstr(v, "xnnpack"))
        return strstr(v, " 1t") ? "#f5a04a" : "#c8432b";
    return spare[index % 4];
}

/* "1.2k"-style tick labels for decades. */
static void decade_label(char *buf, size_t size, int e)
{
    static const char *suffix[] = {"", "k", "M", "G"};
    if (e < 0)
        snprintf(buf, size, "%g", pow(10.0, e));
    else if (e / 3 < 4)
        snprintf(buf, size, "%.0f%s", pow(10.0, e % 3), suffix[e / 3]);
    else
        snprintf(buf, size, "1e%d", e);
}

/* A short number for labels: 3 significant digits without exponent notation for usual sizes. */
static void short_number(char *buf, size_t size, double v)
{
    if (v >= 1000)
        snprintf(buf, size, "%.0f", v);
    else if (v >= 100)
        snprintf(buf, size, "%.0f", v);
    else if (v >= 10)
        snprintf(buf, size, "%.1f", v);
    else if (v >= 1)
        snprintf(buf, size, "%.2f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

typedef struct log_axis {
    double lo, hi;      /* decades (log10) at the two ends */
    double p0, p1;      /* pixel positions of lo and hi */
} log_axis;

static double axis_px(const log_axis *a, double v)
{
    double l = log10(v > 0 ? v : pow(10.0, a->lo));
    if (l < a->lo)
        l = a->lo;
    if (l > a->hi)
        l = a->hi;
    return a->p0 + (l - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static void axis_range(double vmin, double vmax, log_axis *a)
{
    if (!(vmin > 0) || !isfinite(vmin))
        vmin = 1;
    if (!(vmax > 0) || !isfinite(vmax) || vmax < vmin)
        vmax = vmin;
    a->lo = floor(log10(vmin));
    a->hi = ceil(log10(vmax));
    if (a->hi <= a->lo)
        a->hi = a->lo + 1;
}

#define SVG_W 1100.0
#define SVG_FONT "font-family=\"Helvetica, Arial, sans-serif\""
/* A white outline under text, so labels stay legible where they cross grid or ceiling lines. */
#define SVG_HALO "stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\""

/* The bar panel from y; returns the y below it. */
static double svg_bars(FILE *f, const bench_report *r, const char **variants, int nv, double y)
{
    const double left = 250, right = SVG_W - 170, slot = 13, bar = 10, pad = 16;
    double gmin = INFINITY, gmax = 0;
    for (int i = 0; i < r->count; ++i)
        if (r->rows[i].gops > 0) {
            gmin = fmin(gmin, r->rows[i].gops);
            gmax = fmax(gmax, r->rows[i].gops);
        }
    const double ceiling = has_dot(r) ? r->roof.dot_tops * 1e3 : 0;
    log_axis ax = {.p0 = left, .p1 = right};
    axis_range(gmin, fmax(gmax, ceiling), &ax);

    fprintf(f, "<text x=\"20\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">Throughput per layer</text>\n", y);
    fprintf(f, "<text x=\"215\" y=\"%.1f\" font-size=\"12\" fill=\"#555\">GOPS on a log scale (2 ops per MAC), "
               "higher is better; each bar labelled GOPS and chained time per run</text>\n", y);
    y += 30;
    /* shapes, in order of first appearance */
    const char *shapes[BENCH_MAX_SHAPES];
    int ns = 0;
    for (int i = 0; i < r->count && ns < BENCH_MAX_SHAPES; ++i) {
        int seen = 0;
        for (int j = 0; j < ns; ++j)
            seen |= !strcmp(shapes[j], r->rows[i].shape.name);
        if (!seen)
            shapes[ns++] = r->rows[i].shape.name;
    }
    const double top = y, group = nv * slot + pad, bottom = top + ns * group;

    /* Layers: group shading, then the grid and the ceiling, then bars with haloed labels on top. */
    for (int s = 0; s < ns; s += 2)
        fprintf(f, "<rect x=\"10\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f3f5f8\"/>\n", top + s * group,
                SVG_W - 20, group);
    for (int e = (int)ax.lo; e <= (int)ax.hi; ++e) {
        for (int m = 1; m <= 9; ++m) {
            double v = m * pow(10.0, e);
            if (log10(v) > ax.hi + 1e-9)
                break;
            double x = axis_px(&ax, v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"/>\n", x,
                    top - 4, x, bottom, m == 1 ? "#c8c8c8" : "#ececec");
        }
        char lab[32];
        decade_label(lab, sizeof lab, e);
        double x = axis_px(&ax, pow(10.0, e));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n", x,
                top - 8, lab);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n", x,
                bottom + 14, lab);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444\">GOPS</text>\n",
            (left + right) / 2, bottom + 30);

    if (ceiling > 0) {
        const double x = axis_px(&ax, ceiling);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b22\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"6 4\"/>\n", x, top - 4, x, bottom);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#b22\" text-anchor=\"middle\">measured int8 dot "
                   "ceiling %.3g TOPS</text>\n", x, bottom + 30 + (fabs(x - (left + right) / 2) < 120 ? 14 : 0),
                r->roof.dot_tops);
    }
    for (int s = 0; s < ns; ++s) {
        const double gy = top + s * group;
        const bench_row *first = NULL;
        for (int i = 0; i < r->count && !first; ++i)
            if (!strcmp(r->rows[i].shape.name, shapes[s]))
                first = &r->rows[i];
        const double mid = gy + group / 2;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"end\">", left - 10,
                mid - 2);
        xml_text(f, shapes[s]);
        fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">"
                   "N %u, %ux%u, %u \xe2\x86\x92 %u ch</text>\n",
                left - 10, mid + 11, first->shape.n, first->shape.h, first->shape.w, first->shape.ic, first->shape.oc);
        for (int v = 0; v < nv; ++v) {
            const bench_row *w = NULL;
            for (int i = 0; i < r->count && !w; ++i)
                if (!strcmp(r->rows[i].shape.name, shapes[s]) && !strcmp(r->rows[i].variant, variants[v]))
                    w = &r->rows[i];
            const double by = gy + pad / 2 + v * slot;
            if (!w || !(w->gops > 0)) {
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"#999\">n/a</text>\n", left + 4,
                        by + bar - 1);
                continue;
            }
            const double x1 = axis_px(&ax, w->gops);
            const int bad = w->checked && !w->exact;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"%s><title>", left, by,
                    fmax(x1 - left, 1.0), bar, variant_color(w->variant, v),
                    bad ? " stroke=\"#d00\" stroke-width=\"2\"" : "");
            xml_text(f, w->shape.name);
            fputs(" / ", f);
            xml_text(f, w->variant);
            if (w->cpu)
                fprintf(f, ": %.2f us wall", w->gpu_us);
            else
                fprintf(f, ": %.2f us chained, %.2f us per run with its own timestamps", w->chained_us, w->gpu_us);
            fprintf(f, ", %.2f GOPS, %.2f GB/s%s</title></rect>\n", w->gops, w->gbps, bad ? ", MISMATCH" : "");
            char g[32], t[32];
            short_number(g, sizeof g, w->gops);
            short_number(t, sizeof t, headline_us(w));
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9.5\" fill=\"%s\" " SVG_HALO ">%s%s \xc2\xb7 %s us</text>\n",
                    x1 + 4, by + bar - 1.5, bad ? "#d00" : "#333", bad ? "MISMATCH " : "", g, t);
        }
    }
    return bottom + 56;
}

/* The roofline panel from y: arithmetic intensity against GOPS, the measured ceilings as lines,
 * every GPU row a point. Returns the y below it. */
static double svg_roofline(FILE *f, const bench_report *r, const char **variants, int nv, double y)
{
    const double left = 250, pw = 640, ph = 420;
    const double dot = has_dot(r) ? r->roof.dot_tops * 1e3 : 0; /* GOPS */
    const double bw = has_copy(r) ? r->roof.copy_gbps : 0;      /* GB/s */
    double amin = INFINITY, amax = 0, gmin = INFINITY, gmax = 0;
    for (int i = 0; i < r->count; ++i) {
        const bench_row *w = &r->rows[i];
        if (w->cpu || !(w->gops > 0) || !(w->gbps > 0))
            continue;
        const double ai = w->gops / w->gbps; /* ops per byte of the minimum traffic */
        amin = fmin(amin, ai);
        amax = fmax(amax, ai);
        gmin = fmin(gmin, w->gops);
        gmax = fmax(gmax, w->gops);
    }
    if (!(amax > 0))
        return y;
    if (dot > 0 && bw > 0) {
        /* The ridge point, with some slope before it and flat roof after it, is what tells a
         * bandwidth-bound shape from a compute-bound one: keep it in view. */
        amin = fmin(amin, dot / bw / 3);
        amax = fmax(amax, dot / bw * 3);
    }
    log_axis ax = {.p0 = left, .p1 = left + pw};
    axis_range(amin, amax, &ax);
    log_axis ay = {.p0 = 0, .p1 = 0};
    axis_range(gmin, fmax(gmax, dot), &ay);
    if (dot > 0 && ay.hi < log10(dot) + 0.15)
        ay.hi += 1; /* room above the roof for its label */

    fprintf(f, "<text x=\"20\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">Roofline</text>\n", y);
    fprintf(f, "<text x=\"215\" y=\"%.1f\" font-size=\"12\" fill=\"#555\">GPU rows against this device's measured "
               "ceilings; intensity counts input, weights and output once</text>\n", y);
    const double top = y + 24, bottom = top + ph;
    ay.p0 = bottom;
    ay.p1 = top;
    fprintf(f, "<defs><clipPath id=\"roofclip\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
               "</clipPath></defs>\n", left, top, pw, ph);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fbfbfc\" stroke=\"#999\"/>\n", left,
            top, pw, ph);
    for (int e = (int)ax.lo; e <= (int)ax.hi; ++e) {
        for (int m = 1; m <= 9 && log10(m * pow(10.0, e)) <= ax.hi + 1e-9; ++m) {
            double x = axis_px(&ax, m * pow(10.0, e));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, top, x, bottom,
                    m == 1 ? "#cfcfcf" : "#eeeeee");
        }
        char lab[32];
        decade_label(lab, sizeof lab, e);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
                axis_px(&ax, pow(10.0, e)), bottom + 15, lab);
    }
    for (int e = (int)ay.lo; e <= (int)ay.hi; ++e) {
        for (int m = 1; m <= 9 && log10(m * pow(10.0, e)) <= ay.hi + 1e-9; ++m) {
            double yy = axis_px(&ay, m * pow(10.0, e));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", left, yy, left + pw,
                    yy, m == 1 ? "#cfcfcf" : "#eeeeee");
        }
        char lab[32];
        decade_label(lab, sizeof lab, e);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#444\">%s</text>\n",
                left - 6, axis_px(&ay, pow(10.0, e)) + 4, lab);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444\">arithmetic intensity "
               "(ops per byte)</text>\n", left + pw / 2, bottom + 34);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444\" "
               "transform=\"rotate(-90 %.1f %.1f)\">GOPS</text>\n", left - 48, top + ph / 2, left - 48, top + ph / 2);

    /* The roof: min(dot, bw * intensity), drawn across the whole axis and clipped to the plot. */
    const double a0 = pow(10.0, ax.lo), a1 = pow(10.0, ax.hi);
    fputs("<g clip-path=\"url(#roofclip)\" fill=\"none\" stroke=\"#b22\" stroke-width=\"2\">\n", f);
    if (bw > 0) {
        const double ridge = dot > 0 ? dot / bw : a1;
        /* The slanted part may leave the plot below: start it where it enters. */
        double s0 = fmax(a0, pow(10.0, ay.lo) / bw);
        fprintf(f, "<polyline points=\"%.1f,%.1f %.1f,%.1f", axis_px(&ax, s0), axis_px(&ay, bw * s0),
                axis_px(&ax, fmin(ridge, a1)), axis_px(&ay, bw * fmin(ridge, a1)));
        if (dot > 0 && ridge < a1)
            fprintf(f, " %.1f,%.1f", axis_px(&ax, a1), axis_px(&ay, dot));
        fputs("\"/>\n", f);
    } else if (dot > 0) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, axis_px(&ay, dot), left + pw,
                axis_px(&ay, dot));
    }
    fputs("</g>\n", f);
    if (dot > 0)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#b22\" text-anchor=\"end\">packed int8 dot "
                   "%.3g TOPS (measured)</text>\n", left + pw - 6, axis_px(&ay, dot) - 6, r->roof.dot_tops);
    if (bw > 0) {
        /* The label sits on the slanted line where it enters the plot, turned to its slope. */
        double s0 = fmax(a0, pow(10.0, ay.lo) / bw) * 1.6;
        double xa = axis_px(&ax, s0), ya = axis_px(&ay, bw * s0);
        double xb = axis_px(&ax, s0 * 10), yb = axis_px(&ay, bw * s0 * 10);
        double angle = atan2(yb - ya, xb - xa) * 180.0 / 3.14159265358979;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#b22\" transform=\"rotate(%.1f %.1f %.1f)\">"
                   "copy %.4g GB/s (measured)</text>\n", xa, ya - 6, angle, xa, ya - 6, r->roof.copy_gbps);
    }

    for (int v = 0; v < nv; ++v)
        for (int i = 0; i < r->count; ++i) {
            const bench_row *w = &r->rows[i];
            if (w->cpu || strcmp(w->variant, variants[v]) || !(w->gops > 0) || !(w->gbps > 0))
                continue;
            const double cx = axis_px(&ax, w->gops / w->gbps), cy = axis_px(&ay, w->gops);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" fill-opacity=\"0.85\" stroke=\"#fff\" "
                       "stroke-width=\"0.8\"><title>", cx, cy, variant_color(w->variant, v));
            xml_text(f, w->shape.name);
            fputs(" / ", f);
            xml_text(f, w->variant);
            fprintf(f, ": %.1f ops/B, %.2f GOPS, %.2f us chained</title></circle>\n", w->gops / w->gbps, w->gops,
                    w->chained_us);
        }
    /* Shape names after every point, so no point hides a label; one per shape, at the first
     * variant's point (the dot kernel's where it ran). Where shapes crowd, a label goes right,
     * left, above or below its point, whichever overlaps no earlier label, or is left to the
     * point's tooltip. */
    enum { MAX_LABELS = BENCH_MAX_SHAPES };
    double boxes[MAX_LABELS][4];
    int nb = 0;
    for (int i = 0; i < r->count && nb < MAX_LABELS; ++i) {
        const bench_row *w = &r->rows[i];
        if (w->cpu || !(w->gops > 0) || !(w->gbps > 0) || w != first_gpu_row(r, &w->shape))
            continue;
        const double cx = axis_px(&ax, w->gops / w->gbps), cy = axis_px(&ay, w->gops);
        const double tw = 5.2 * (double)strlen(w->shape.name), th = 10;
        const double cand[4][2] = {{cx + 7, cy + 3}, {cx - 7 - tw, cy + 3}, {cx - tw / 2, cy - 8}, {cx - tw / 2, cy + 15}};
        for (int c = 0; c < 4; ++c) {
            const double x0 = cand[c][0], y0 = cand[c][1] - th + 2, x1 = x0 + tw, y1 = y0 + th;
            int clash = x0 < left || x1 > left + pw + 60 || y0 < top || y1 > bottom;
            for (int b = 0; b < nb && !clash; ++b)
                clash = x0 < boxes[b][2] && boxes[b][0] < x1 && y0 < boxes[b][3] && boxes[b][1] < y1;
            if (clash)
                continue;
            boxes[nb][0] = x0;
            boxes[nb][1] = y0;
            boxes[nb][2] = x1;
            boxes[nb][3] = y1;
            nb++;
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"#333\" " SVG_HALO ">", cand[c][0],
                    cand[c][1]);
            xml_text(f, w->shape.name);
            fputs("</text>\n", f);
            break;
        }
    }
    return bottom + 50;
}

int bench_write_svg(const bench_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char *variants[REPORT_MAX_VARIANTS];
    const int nv = list_variants(r, variants, REPORT_MAX_VARIANTS);
    int ns = 0;
    for (int i = 0; i < r->count; ++i)
        ns += i == 0 || strcmp(r->rows[i].shape.name, r->rows[i - 1].shape.name);

    /* Height first: the legend's rows, the bar panel, the roofline. */
    double lx = 20;
    int legend_rows = 1;
    for (int v = 0; v < nv; ++v) {
        double wdt = 30 + 7.0 * (double)strlen(variants[v]);
        if (lx + wdt > SVG_W - 20) {
            legend_rows++;
            lx = 20;
        }
        lx += wdt;
    }
    int gpu_rows = 0;
    for (int i = 0; i < r->count; ++i)
        gpu_rows += !r->rows[i].cpu && r->rows[i].gops > 0;
    const int roof = r->roof.valid && gpu_rows > 0;
    const double legend_y = 128;
    const double bars_y = legend_y + 20.0 * legend_rows;
    const double height = bars_y + 30 + ns * (nv * 13.0 + 16) + 56 + (roof ? 24 + 420 + 50 + 30 : 0) + 10;

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               SVG_FONT ">\n", SVG_W, height, SVG_W, height);
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", SVG_W, height);
    const q8conv_context_info *in = &r->info;
    fputs("<text x=\"20\" y=\"30\" font-size=\"19\" font-weight=\"bold\">q8conv-bench: ", f);
    xml_text(f, r->suite);
    fputs(" suite on ", f);
    xml_text(f, in->device_name);
    fputs("</text>\n<text x=\"20\" y=\"50\" font-size=\"12\" fill=\"#555\">driver ", f);
    xml_text(f, in->driver_name);
    fputc(' ', f);
    xml_text(f, in->driver_info);
    fprintf(f, " | Vulkan %u.%u | int8 dot product: %s | %s layout | GPU rows: %d runs chained with barriers, "
               "median of %d batches</text>\n",
            VK_API_VERSION_MAJOR(in->api_version), VK_API_VERSION_MINOR(in->api_version),
            in->integer_dot_product_supported ? (in->integer_dot_product_accelerated ? "accelerated" : "yes") : "no",
            r->opt->layout == Q8CONV_LAYOUT_4W4C ? "4W4C" : "4C1W", r->opt->reps, r->opt->batches);
    fputs("<text x=\"20\" y=\"68\" font-size=\"12\" fill=\"#555\">", f);
    if (r->roof.valid) {
        char dot[48], copy[48];
        cell(dot, sizeof dot, "%.3g TOPS", has_dot(r) ? r->roof.dot_tops : NAN);
        cell(copy, sizeof copy, "%.4g GB/s", has_copy(r) ? r->roof.copy_gbps : NAN);
        fprintf(f, "measured ceilings: packed int8 dot %s, copy %s (read + write). ", dot, copy);
    }
    int bad = 0;
    for (int i = 0; i < r->count; ++i)
        bad += r->rows[i].checked && !r->rows[i].exact;
    if (bad)
        fprintf(f, "%d GPU result(s) differ from the CPU reference (outlined red).", bad);
    else
        fputs("Every GPU result checked byte for byte against the CPU reference.", f);
    fputs("</text>\n", f);

    lx = 20;
    /* The dispatch floor and the network measured as one command buffer, the first variant's (the
     * dot kernel's where it ran). */
    fputs("<text x=\"20\" y=\"86\" font-size=\"12\" fill=\"#555\">", f);
    if (r->floor.valid)
        fprintf(f, "dispatch floor, measured in the same run: %.2f us per empty dispatch + barrier, %.2f us without "
                   "the barrier.", r->floor.us, r->floor.nobarrier_us);
    else
        fputs("dispatch floor: not measured.", f);
    fputs("</text>\n<text x=\"20\" y=\"104\" font-size=\"12\" fill=\"#555\">", f);
    if (r->network_count) {
        const bench_network *n = &r->networks[0];
        fputs("Whole network (", f);
        xml_text(f, r->network_name ? r->network_name : "");
        fprintf(f, "), %d layers in one command buffer, ", n->layers);
        xml_text(f, n->variant);
        fprintf(f, ": %.1f us per pass cold (rotating sets), %.1f us in runtime order", n->us, n->warm_us);
        if (r->floor.valid)
            fprintf(f, ", %.1f%% of it the floor", floor_share(r, n) * 100.0);
        fputc('.', f);
    }
    fputs("</text>\n", f);
    double ly = legend_y;
    for (int v = 0; v < nv; ++v) {
        double wdt = 30 + 7.0 * (double)strlen(variants[v]);
        if (lx + wdt > SVG_W - 20) {
            ly += 20;
            lx = 20;
        }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" fill=\"%s\"/>\n", lx, ly - 10,
                variant_color(variants[v], v));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", lx + 19, ly);
        xml_text(f, variants[v]);
        fputs("</text>\n", f);
        lx += wdt;
    }
    double y = svg_bars(f, r, variants, nv, bars_y + 10);
    if (roof)
        y = svg_roofline(f, r, variants, nv, y + 10);
    fputs("</svg>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
