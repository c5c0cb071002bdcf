/* Multiboot v1 info parsing (Multiboot Specification 0.6.96, section 3.3). */
#include "console.h"
#include "platform.h"

#define MULTIBOOT_LOADER_MAGIC 0x2BADB002
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP (1u << 6)
#define MB_MMAP_RAM 1

struct platform platform;

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct multiboot_mmap_entry {
    uint32_t size;  /* of the rest of the entry, not counting this field */
    uint64_t base;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

static void copy_cmdline(uintptr_t address) {
    const char *src = (const char *)address;
    size_t i = 0;
    for (; i + 1 < sizeof platform.cmdline && src[i]; i++) platform.cmdline[i] = src[i];
    platform.cmdline[i] = '\0';
}

static void sum_mmap(uintptr_t address, uint32_t length) {
    uintptr_t end = address + length;
    /* Bounded: a malformed map with a zero size field must not loop forever. */
    for (uintptr_t p = address; p + sizeof(struct multiboot_mmap_entry) <= end && platform.mmap_entries < 128;) {
        const struct multiboot_mmap_entry *entry = (const void *)p;
        platform.mmap_entries++;
        if (entry->type == MB_MMAP_RAM) platform.usable_ram_bytes += entry->length;
        if (entry->size < 20) break;
        p += entry->size + 4;
    }
    platform.have_mmap = platform.mmap_entries > 0;
}

void multiboot_parse(uint32_t magic, uintptr_t info_address) {
    if (magic != MULTIBOOT_LOADER_MAGIC || !info_address) {
        printf("# probe: not booted by a Multiboot loader (EAX=%08x)\n", magic);
        return;
    }
    const struct multiboot_info *info = (const void *)info_address;
    if (info->flags & MB_INFO_MEMORY) {
        platform.mem_lower_kib = info->mem_lower;
        platform.mem_upper_kib = info->mem_upper;
    }
    if ((info->flags & MB_INFO_CMDLINE) && info->cmdline) copy_cmdline(info->cmdline);
    if ((info->flags & MB_INFO_MMAP) && info->mmap_addr) sum_mmap(info->mmap_addr, info->mmap_length);
}

/* Finds `key` as a whole word (preceded by start or a space, followed by
 * '=' / space / end). Returns a pointer just past the key, or NULL. */
static const char *find_word(const char *key) {
    size_t key_length = strlen(key);
    const char *p = platform.cmdline;
    while (*p) {
        while (*p == ' ') p++;
        if (!strncmp(p, key, key_length) && (p[key_length] == '=' || p[key_length] == ' ' || !p[key_length]))
            return p + key_length;
        while (*p && *p != ' ') p++;
    }
    return NULL;
}

bool cmdline_has_word(const char *word) {
    const char *after = find_word(word);
    return after && *after != '=';
}

bool cmdline_value(const char *key, char *out, size_t out_size) {
    const char *after = find_word(key);
    if (!after || *after != '=' || !out_size) return false;
    after++;
    size_t i = 0;
    for (; i + 1 < out_size && after[i] && after[i] != ' '; i++) out[i] = after[i];
    out[i] = '\0';
    return true;
}
