"""The trainer: networks of a space's architectures, data, protocols, training runs into tables.

torch is an optional extra and only the modules that build or train networks
(``nb201_net``, ``nb101_net``, ``torch_stats``, ``trainer``) import it; this
package, the protocols, the journal, the closed-form NB201 parameter/FLOP
counter and the validation report load without it. ``docs/trainer.md`` is the
user guide.
"""
