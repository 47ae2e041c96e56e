// LD_PRELOAD shim for test_lifecycle's self-check tests: makes libevent call its own
// definition of one function (SEAM_BYPASS) instead of filmd's, as a libevent linked
// -Bsymbolic would. The executable's definitions come first in symbol lookup, so no preloaded
// definition can do it: this rewrites libevent's GOT entry for the function, before main, to
// the address of libevent's own definition.
#define _GNU_SOURCE 1
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *target;

static uintptr_t absolute(ElfW(Addr) base, ElfW(Addr) value) { return value < base ? base + value : value; }

static void rebind(ElfW(Addr) base, const ElfW(Rela) *relocations, size_t bytes, const ElfW(Sym) *symbols, const char *strings) {
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < bytes / sizeof *relocations; i++) {
        const ElfW(Rela) *r = &relocations[i];
        unsigned type = ELF64_R_TYPE(r->r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
        const ElfW(Sym) *symbol = &symbols[ELF64_R_SYM(r->r_info)];
        if (symbol->st_shndx == SHN_UNDEF || strcmp(strings + symbol->st_name, target) != 0) continue;
        uintptr_t *slot = (uintptr_t *)(base + r->r_offset);
        void *start = (void *)((uintptr_t)slot & ~(uintptr_t)(page - 1));
        mprotect(start, (size_t)page, PROT_READ | PROT_WRITE);  // RELRO made it read-only
        *slot = base + symbol->st_value;
        mprotect(start, (size_t)page, PROT_READ);
    }
}

static int each_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libevent") == NULL) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
        const ElfW(Dyn) *dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const ElfW(Rela) *jmprel = NULL, *rela = NULL;
        size_t jmprel_bytes = 0, rela_bytes = 0;
        const ElfW(Sym) *symbols = NULL;
        const char *strings = NULL;
        for (; dynamic->d_tag != DT_NULL; dynamic++) {
            uintptr_t at = absolute(info->dlpi_addr, dynamic->d_un.d_ptr);
            switch (dynamic->d_tag) {
            case DT_JMPREL: jmprel = (const ElfW(Rela) *)at; break;
            case DT_PLTRELSZ: jmprel_bytes = dynamic->d_un.d_val; break;
            case DT_RELA: rela = (const ElfW(Rela) *)at; break;
            case DT_RELASZ: rela_bytes = dynamic->d_un.d_val; break;
            case DT_SYMTAB: symbols = (const ElfW(Sym) *)at; break;
            case DT_STRTAB: strings = (const char *)at; break;
            }
        }
        if (symbols == NULL || strings == NULL) continue;
        if (jmprel) rebind(info->dlpi_addr, jmprel, jmprel_bytes, symbols, strings);
        if (rela) rebind(info->dlpi_addr, rela, rela_bytes, symbols, strings);
    }
    return 0;
}

__attribute__((constructor)) static void bypass(void) {
    target = getenv("SEAM_BYPASS");
    if (target != NULL && *target != '\0') dl_iterate_phdr(each_object, NULL);
}
