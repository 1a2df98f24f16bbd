"""(c) KD and SD-KD forward + backward, the twin of sdd_loss.mjs.

kd_loss is mdistiller's; sdd_kd_loss is the authors' SD-KD written from
the project's SDD method notes (sdd-method.md of its reference material), section 3 with plain torch ops, in the authors' style: boolean
masks for the four (global, local) correctness groups, kl_div(reduction='none'), NaN elements
zeroed, the inf/NaN fallback check (a host sync), and the N*B divisor.
"""
import torch
import torch.nn.functional as F

from inputs import det, scale_logits_pair

B, K, N, T = 64, 100, 21, 4.0


def kd_loss(logits_student, logits_teacher, temperature):
    log_pred_student = F.log_softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    loss_kd = F.kl_div(log_pred_student, pred_teacher, reduction='none').sum(1).mean()
    loss_kd *= temperature ** 2
    return loss_kd


def sdd_kd_loss(out_s_multi, out_t_multi, T, target):
    # B x K x N -> N x B x K -> (N*B) x K, row r = n*B + b
    out_s_multi = out_s_multi.permute(2, 0, 1)
    out_t_multi = out_t_multi.permute(2, 0, 1)
    n, b = out_t_multi.shape[0], out_t_multi.shape[1]
    out_t = torch.reshape(out_t_multi, (n * b, out_t_multi.shape[2]))
    out_s = torch.reshape(out_s_multi, (n * b, out_s_multi.shape[2]))
    target_r = target.repeat(n)

    # per-row KD
    p_s = F.log_softmax(out_s / T, dim=1)
    p_t = F.softmax(out_t / T, dim=1)
    loss_kd = F.kl_div(p_s, p_t, reduction='none') * (T ** 2)
    nan_index = torch.isnan(loss_kd)
    loss_kd[nan_index] = torch.tensor(0.0)
    loss_kd = torch.sum(loss_kd, dim=1)

    # teacher predictions decide the weights (no gradient through them)
    out_t_predict = torch.argmax(out_t, dim=1)
    mask_true = out_t_predict == target_r
    mask_false = out_t_predict != target_r
    global_prediction = out_t_predict[0:b]
    global_true_repeat = (global_prediction == target).repeat(n)
    global_false_repeat = (global_prediction != target).repeat(n)
    # global right, local wrong / global wrong, local right: complementary
    gt_lw = mask_false.clone()
    gt_lw[global_false_repeat] = False
    gt_lw[0:b] = False
    gw_lt = mask_true.clone()
    gw_lt[global_true_repeat] = False
    gw_lt[0:b] = False
    weight = torch.ones_like(loss_kd)
    weight[gt_lw] = 2.0
    weight[gw_lt] = 2.0

    loss = torch.sum(loss_kd * weight) / (n * b)
    if torch.isnan(loss) or torch.isinf(loss):
        print('inf')
        loss = torch.zeros(1).float()
    return loss


class Kd:
    rows = B

    def __init__(self):
        self.s = det([self.rows, K], 0.1, 2.0, True)
        self.t = det([self.rows, K], 0.7, 3.0)

    def run(self, iters):
        s, t = self.s, self.t
        for _ in range(iters):
            kd_loss(s, t, T).backward()
            s.grad = None

    def check(self):
        return kd_loss(self.s, self.t, T).item()


class KdRows(Kd):
    rows = N * B


class SddKd:
    def __init__(self):
        s, t, y = scale_logits_pair(B, K, N)
        self.s = s.requires_grad_(True)
        self.t, self.y = t, y

    def run(self, iters):
        s, t, y = self.s, self.t, self.y
        for _ in range(iters):
            sdd_kd_loss(s, t, T, y).backward()
            s.grad = None

    def check(self):
        return sdd_kd_loss(self.s, self.t, T, self.y).item()


CASES = {'kd': Kd, 'kdRows': KdRows, 'sddKd': SddKd}

if __name__ == '__main__':
    from worker import standalone
    standalone(CASES)
