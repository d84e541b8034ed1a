/* q8conv-info: lists the Vulkan devices of this machine and what libq8conv would use on each.
 *
 * For a runtime engineer checking a phone or a server: every physical device the loader reports,
 * then, through a libq8conv context on that device, the facts that decide the kernel (integer dot
 * product enabled and accelerated, subgroup size, dispatch and binding limits).
 *
 * The loader is opened at run time rather than linked, so on a machine without Vulkan the tool
 * still starts and says what is missing.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <q8conv.h>

#include "info.h"

static const char *device_type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

static void print_version(const char *label, uint32_t v)
{
    printf("  %-34s %u.%u.%u\n", label, VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

/* Driver versions are vendor-encoded; NVIDIA's is the one common scheme that differs from
 * VK_MAKE_API_VERSION's, so it is decoded, everything else is shown in the API encoding. */
static void print_driver_version(uint32_t vendor, uint32_t v)
{
    if (vendor == 0x10DE)
        printf("  %-34s %u.%u.%u.%u (0x%08x)\n", "driver version:", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff,
               v & 0x3f, v);
    else
        printf("  %-34s %u.%u.%u (0x%08x)\n", "driver version:", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
               VK_API_VERSION_PATCH(v), v);
}

static void print_context_info(const q8conv_context_info *info)
{
    if (info->driver_name[0])
        printf("  %-34s %s (%s)\n", "driver:", info->driver_name, info->driver_info);
    printf("  %-34s 0x%04x / 0x%04x\n", "vendor / device id:", info->vendor_id, info->device_id);
    print_driver_version(info->vendor_id, info->driver_version);
    print_version("Vulkan version used:", info->api_version);
    printf("  %-34s %s\n", "integer dot product enabled:", info->integer_dot_product_supported ? "yes" : "no");
    printf("  %-34s %s\n", "integer dot product accelerated:", info->integer_dot_product_accelerated ? "yes" : "no");
    printf("  %-34s %s\n", "  signed 4x8-bit packed (DOT):", info->dot_signed_accelerated ? "accelerated" : "not accelerated");
    printf("  %-34s %s\n", "  mixed-signedness (DOT_MIXED):", info->dot_mixed_accelerated ? "accelerated" : "not accelerated");
    printf("  %-34s %s\n", "cooperative matrices (int8):",
           info->cooperative_matrix_used        ? "yes, used (COOPMAT kernel)"
           : info->cooperative_matrix_supported ? "yes, not used (FORCE_FALLBACK)"
                                                : "no");
    if (info->cooperative_matrix_shape_count) {
        printf("  %-34s", "int8 x int8 -> int32 shapes (MxNxK):");
        for (uint32_t i = 0; i < info->cooperative_matrix_shape_count && i < Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES; i++)
            printf("%s%ux%ux%u", i ? ", " : " ", info->cooperative_matrix_shapes[i][0], info->cooperative_matrix_shapes[i][1],
                   info->cooperative_matrix_shapes[i][2]);
        printf("\n");
    }
    printf("  %-34s %u\n", "subgroup size:", info->subgroup_size);
    printf("  %-34s %u x %u x %u\n", "maxComputeWorkGroupCount:", info->max_compute_workgroup_count[0],
           info->max_compute_workgroup_count[1], info->max_compute_workgroup_count[2]);
    printf("  %-34s %u\n", "maxComputeWorkGroupInvocations:", info->max_compute_workgroup_invocations);
    printf("  %-34s %" PRIu64 "\n", "maxStorageBufferRange:", info->max_storage_buffer_range);
    printf("  %-34s %" PRIu64 "\n", "minStorageBufferOffsetAlignment:", info->min_storage_buffer_offset_alignment);
    if (info->timestamp_period_ns > 0.0f)
        printf("  %-34s %g ns\n", "timestamp period:", (double)info->timestamp_period_ns);
    else
        printf("  %-34s none on the queue libq8conv uses\n", "timestamp period:");
    printf("  %-34s %s\n", "kernel:", q8conv_kernel_name(info->default_kernel));
}

static int usage(FILE *f)
{
    fprintf(f, "usage: q8conv-info [--kernels] [--json FILE]\n"
               "Lists every Vulkan physical device and what libq8conv would use on it.\n"
               "--kernels: instead, compiles every kernel pipeline on every device (running nothing, so\n"
               "  devices that only compile, such as RADV's null devices, serve too) and prints every\n"
               "  statistic the driver reports for it, under the driver's names.\n"
               "--json FILE: --kernels, and writes the statistics to FILE as JSON.\n"
               "Exit status: 0 when libq8conv can run (--kernels: compile every kernel) on at least one\n"
               "device, 1 otherwise, 2 for bad arguments.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    bool kernels = false;
    const char *json_path = NULL;
    for (int a = 1; a < argc; ++a) {
        if (strcmp(argv[a], "--kernels") == 0)
            kernels = true;
        else if (strcmp(argv[a], "--json") == 0 && a + 1 < argc)
            kernels = true, json_path = argv[++a];
        else
            return usage(strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0 ? stdout : stderr);
    }
    printf("libq8conv %d.%d.%d\n", Q8CONV_VERSION_MAJOR, Q8CONV_VERSION_MINOR, Q8CONV_VERSION_PATCH);

    void *loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!loader)
        loader = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!loader) {
        printf("no Vulkan loader (libvulkan.so.1) found\n");
        return 1;
    }
    PFN_vkGetInstanceProcAddr gipa;
    *(void **)&gipa = dlsym(loader, "vkGetInstanceProcAddr");
    PFN_vkEnumerateInstanceVersion enum_version =
        gipa ? (PFN_vkEnumerateInstanceVersion)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion") : NULL;
    PFN_vkCreateInstance create_instance =
        gipa ? (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance") : NULL;
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (enum_version)
        enum_version(&loader_version);
    print_version("Vulkan loader:", loader_version);
    if (!create_instance) {
        printf("the Vulkan loader has no vkCreateInstance\n");
        dlclose(loader);
        return 1;
    }

    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "q8conv-info",
                             .apiVersion = loader_version >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = create_instance(&ici, NULL, &instance);
    if (r != VK_SUCCESS) {
        printf("vkCreateInstance failed (VkResult %d): no usable Vulkan driver\n", (int)r);
        dlclose(loader);
        return 1;
    }
    PFN_vkDestroyInstance destroy_instance = (PFN_vkDestroyInstance)gipa(instance, "vkDestroyInstance");
    PFN_vkEnumeratePhysicalDevices enum_devices =
        (PFN_vkEnumeratePhysicalDevices)gipa(instance, "vkEnumeratePhysicalDevices");
    PFN_vkGetPhysicalDeviceProperties get_props =
        (PFN_vkGetPhysicalDeviceProperties)gipa(instance, "vkGetPhysicalDeviceProperties");
    uint32_t count = 0;
    VkPhysicalDevice *devices = NULL;
    if (enum_devices && get_props && enum_devices(instance, &count, NULL) == VK_SUCCESS && count > 0) {
        devices = calloc(count, sizeof *devices);
        r = devices ? enum_devices(instance, &count, devices) : VK_ERROR_OUT_OF_HOST_MEMORY;
        if (r != VK_SUCCESS && r != VK_INCOMPLETE)
            count = 0;
    }
    printf("%u physical device%s\n", count, count == 1 ? "" : "s");

    uint32_t usable = 0;
    if (kernels) {
        FILE *json = json_path ? fopen(json_path, "w") : NULL;
        if (json_path && !json)
            printf("cannot write %s\n", json_path);
        else
            usable = count > 0 && q8conv_info_kernels(count, json) == 0;
        if (json && fclose(json) != 0) {
            printf("writing %s failed\n", json_path);
            usable = 0;
        }
        count = 0; /* the listing below is the other mode */
    }
    for (uint32_t i = 0; i < count; ++i) {
        VkPhysicalDeviceProperties props;
        get_props(devices[i], &props);
        printf("\ndevice %u: %s (%s)\n", i, props.deviceName, device_type_name(props.deviceType));
        print_version("Vulkan version of the device:", props.apiVersion);
        /* Q8CONV_DEVICE=i (or device_index = i) selects this device. */
        q8conv_context *ctx = NULL;
        q8conv_status st = q8conv_context_create(&(q8conv_context_desc){.device_index = i}, &ctx);
        if (st != Q8CONV_SUCCESS) {
            printf("  %-34s not usable (%s)\n", "libq8conv:", q8conv_status_string(st));
            continue;
        }
        q8conv_context_info info;
        if (q8conv_context_get_info(ctx, &info) == Q8CONV_SUCCESS) {
            print_context_info(&info);
            ++usable;
        }
        q8conv_context_destroy(ctx);
    }
    free(devices);
    if (destroy_instance)
        destroy_instance(instance, NULL);
    dlclose(loader);
    if (!usable)
        printf(kernels ? "\nnot every kernel compiled\n" : "\nlibq8conv can run on none of them\n");
    return usable ? 0 : 1;
}
