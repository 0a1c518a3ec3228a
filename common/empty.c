/* SPDX-License-Identifier: MIT */
/* TEMPORARY placeholder translation unit while the foundation is written. */
typedef int cn_empty_translation_unit;
