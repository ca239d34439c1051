// SPDX-License-Identifier: Apache-2.0
/** The specification's rule registry, mirrored from {@code spec/VLESS.md}, and its profiles. */
package dev.vless.spec;
