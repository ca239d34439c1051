// SPDX-License-Identifier: Apache-2.0
/**
 * The conformance suite's harness: the target, connections and peers, the JUnit extension that judges cases, the
 * runner, the reports and the command line. The cases themselves are in {@code .cases}, one class per spec section.
 */
package dev.vless.conformance;
