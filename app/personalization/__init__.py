"""Personalised weights: client profiles, the industry taxonomy and priors, client
similarity, learning from outcome feedback and the choice of method.

Pure: standard library, numpy and `app.scoring` only; no clock, no I/O beyond the
package's own data files, no randomness without an explicit seed.
"""
