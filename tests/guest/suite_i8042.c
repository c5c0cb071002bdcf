/* i8042 suite: the controller's own commands and the keyboard and mouse
 * behind it, all polled with IRQs off in the command byte. Translation is
 * off while it runs so the keyboard's replies arrive as sent. */
#include "console.h"
#include "i8042_io.h"
#include "suites.h"
#include "tap.h"

struct reply {
    int bytes[4];
    bool aux[4];
    char text[32];
};

/* Reads `count` bytes (missing ones as -1) and formats them for reports. */
static void read_reply(struct reply *r, int count) {
    size_t used = 0;
    r->text[0] = '\0';
    for (int i = 0; i < count; i++) {
        uint8_t status = 0;
        r->bytes[i] = i8042_read(&status);
        r->aux[i] = status & I8042_STR_AUXDATA;
        if (r->bytes[i] < 0)
            snprintf(r->text + used, sizeof r->text - used, "%s--", i ? " " : "");
        else
            snprintf(r->text + used, sizeof r->text - used, "%s%02x", i ? " " : "", r->bytes[i]);
        used = strlen(r->text);
    }
}

static bool reply_is(const struct reply *r, const int *want, int count, bool from_aux) {
    for (int i = 0; i < count; i++)
        if (r->bytes[i] != want[i] || r->aux[i] != from_aux) return false;
    return true;
}

static void controller_command_test(uint8_t command, int want, const char *name) {
    struct reply r;
    bool sent = i8042_command(command);
    read_reply(&r, 1);
    tap_check(sent && r.bytes[0] == want, name, "sent %d, reply %s, want %02x", sent, r.text, want);
}

static void device_command_test(bool to_aux, uint8_t command, const int *want, int count, const char *name) {
    struct reply r;
    i8042_flush();
    bool sent = to_aux ? i8042_command(I8042_CMD_AUX_SEND) && i8042_write_data(command) : i8042_write_data(command);
    read_reply(&r, count);
    tap_check(sent && reply_is(&r, want, count, to_aux), name, "sent %d, reply %s%s", sent, r.text,
              to_aux ? " (all must have status AUXDATA)" : " (none may have status AUXDATA)");
}

static void check_command_byte(uint8_t base) {
    /* Toggle translation: a bit with no side effect while IRQs are off. */
    uint8_t changed = base ^ I8042_CTR_XLATE;
    bool written = i8042_write_ctr(changed);
    int readback = i8042_read_ctr();
    bool restored = i8042_write_ctr(base);
    int again = i8042_read_ctr();
    tap_check(written && restored && readback == changed && again == base, "command byte write and read back",
              "wrote %02x read %d, wrote %02x read %d", changed, readback, base, again);
}

void suite_i8042(void) {
    /* Remember the command byte to restore, then quiesce: both ports off,
     * output drained. */
    i8042_flush();
    int original = i8042_read_ctr();
    if (!tap_check(original >= 0, "command byte readable", "no reply to command 0x20")) return;
    i8042_command(I8042_CMD_KBD_DISABLE);
    i8042_command(I8042_CMD_AUX_DISABLE);
    i8042_flush();
    uint8_t quiet = (uint8_t)((original & ~(I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE)) | I8042_CTR_SYSFLAG);
    i8042_write_ctr(quiet);

    controller_command_test(I8042_CMD_SELF_TEST, 0x55, "controller self-test (AA -> 55)");
    /* A real 8042 may reset its command byte on self-test: set ours again. */
    i8042_write_ctr(quiet);
    controller_command_test(I8042_CMD_KBD_TEST, 0x00, "keyboard interface test (AB -> 00)");
    controller_command_test(I8042_CMD_AUX_TEST, 0x00, "mouse interface test (A9 -> 00)");
    check_command_byte(quiet);

    i8042_command(I8042_CMD_KBD_ENABLE);
    static const int reset_reply[] = {0xFA, 0xAA};
    device_command_test(false, 0xFF, reset_reply, 2, "keyboard reset (FF -> FA AA)");
    static const int echo_reply[] = {0xEE};
    device_command_test(false, 0xEE, echo_reply, 1, "keyboard echo (EE -> EE)");
    /* MF2 keyboard ID AB 83 (83, not 41: translation is off). */
    static const int identify_reply[] = {0xFA, 0xAB, 0x83};
    device_command_test(false, 0xF2, identify_reply, 3, "keyboard identify (F2 -> FA AB 83)");

    i8042_command(I8042_CMD_AUX_ENABLE);
    static const int mouse_reset_reply[] = {0xFA, 0xAA, 0x00};
    device_command_test(true, 0xFF, mouse_reset_reply, 3, "mouse reset via D4 (FF -> FA AA 00)");
    i8042_command(I8042_CMD_AUX_DISABLE);

    i8042_flush();
    i8042_write_ctr((uint8_t)original);
}
