"""White-box distillation objectives for the student: losses over student and teacher logits.

Pure torch, one loss per module (`kd`, `on_policy`, `pcl`), no Trainer in them; `tokens` holds
what they share (aligning logits with the tokens they predict, masked means, KL per position).
The Trainer side (teacher loading, pcl's optional value head, which loss a batch gets) lives in
`engine/student/distilling.py`, on-policy sampling in `engine/student/sampling.py`.

Why not TRL: its GKDTrainer (and the other distillation trainers) subclass SFTTrainer and would
replace our StudentTrainer, with its batch sampler (length grouping, packing), progress/stop
watcher and resumable, fingerprinted checkpoints; each loss here is a few lines of torch. The
generalised JSD follows the semantics of TRL 1.16's `GKDTrainer.generalized_jsd_loss` (read, not
copied), so a β chosen with TRL means the same here.
"""
