/*
** view_cosem_cal.c — the tariff and billing schedule objects of the COSEM view:
** Activity calendar (20), Special days table (11), Script table (9), Register
** activation (6), Single action schedule (22).
** SPDX-License-Identifier: MIT
*/
#include "ms_err.h"
#include "view_cosem_int.h"

static const cv_ops_t none_ops = { NULL, NULL, NULL };
const cv_class_t cv_activity_calendar = {
    .class_id = 20, .nattr = 10, .nmeth = 1, .ops = &none_ops
};
const cv_class_t cv_special_days = {
    .class_id = 11, .nattr = 2, .nmeth = 2, .ops = &none_ops
};
const cv_class_t cv_script_table = {
    .class_id = 9, .nattr = 2, .nmeth = 1, .ops = &none_ops
};
const cv_class_t cv_register_activation = {
    .class_id = 6, .nattr = 4, .nmeth = 3, .ops = &none_ops
};
const cv_class_t cv_single_action = { .class_id = 22, .nattr = 4, .ops = &none_ops };

int cv_add_calendar_objects(ms_cosem_t *v)
{
    (void)v;
    return 0;
}
