"""Three networks as torchvision and timm write them (a ResNet of bottleneck blocks, a MobileNetV3-style block with
squeeze-excitation, a small vision transformer), each class written once against a library's `nn` and built with
torch and with minigrad: the same weights give torch's outputs, and a training recipe of the kind those projects
use (parameter groups without weight decay on norms and biases, Nesterov SGD, warm-up then cosine decay, label
smoothing, gradient clipping, an exponential moving average of the weights) keeps torch's losses and weights;
and nanoGPT's model and training loop, as its author writes them, train and generate as torch's."""
import copy
import inspect
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import eval_outputs, relative_error

torch = pytest.importorskip("torch")


def resnet(library):
    nn = library.nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, layers=(1, 1), num_classes=10, zero_init_residual=True):
            super().__init__()
            self.inplanes = 16
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(self.inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(8, layers[0])
            self.layer2 = self._make_layer(16, layers[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16 * Bottleneck.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                        nn.init.constant_(m.bn3.weight, 0)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes * Bottleneck.expansion))
            layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * Bottleneck.expansion
            layers.extend(Bottleneck(self.inplanes, planes) for _ in range(1, blocks))
            return nn.Sequential(*layers)

        def forward(self, x):                                        # (N, 3, 32, 32)
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))     # (N, 16, 8, 8)
            x = self.layer2(self.layer1(x))                          # (N, 64, 4, 4)
            x = library.flatten(self.avgpool(x), 1)                  # (N, 64)
            return self.fc(x)

    return ResNet()


def mobilenet(library):
    nn, F = library.nn, library.nn.functional

    def make_divisible(value, divisor=8):
        return max(divisor, int(value + divisor / 2) // divisor * divisor)

    class SqueezeExcitation(nn.Module):
        def __init__(self, channels, squeeze_factor=4):
            super().__init__()
            squeezed = make_divisible(channels // squeeze_factor)
            self.fc1 = nn.Conv2d(channels, squeezed, 1)
            self.fc2 = nn.Conv2d(squeezed, channels, 1)

        def forward(self, x):
            scale = F.adaptive_avg_pool2d(x, 1)
            scale = self.fc2(F.relu(self.fc1(scale), inplace=True))
            return x * F.hardsigmoid(scale, inplace=True)

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand_ratio):
            super().__init__()
            hidden = make_divisible(inp * expand_ratio)
            self.use_res_connect = stride == 1 and inp == oup
            self.block = nn.Sequential(
                nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden, eps=0.001, momentum=0.01),
                nn.Hardswish(inplace=True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True), SqueezeExcitation(hidden),
                nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup))

        def forward(self, x):
            return x + self.block(x) if self.use_res_connect else self.block(x)

    class MobileNet(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish(),   # (N, 16, 16, 16)
                InvertedResidual(16, 16, 1, 4),                                              # (N, 16, 16, 16)
                InvertedResidual(16, 24, 2, 3))                                              # (N, 24, 8, 8)
            self.classifier = nn.Sequential(nn.Linear(24, 32), nn.Hardswish(inplace=True), nn.Dropout(p=0.0),
                                            nn.Linear(32, num_classes))
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = self.features(x).mean((2, 3))                        # (N, 24)
            return self.classifier(x)

    return MobileNet()


def vision_transformer(library):
    nn = library.nn

    class ViT(nn.Module):
        def __init__(self, image_size=32, patch=8, dim=32, depth=2, heads=4, num_classes=10):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
            self.cls_token = nn.Parameter(library.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(library.zeros(1, (image_size // patch) ** 2 + 1, dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=depth, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.head = nn.Linear(dim, num_classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)      # (N, 16, dim)
            cls = self.cls_token.expand(x.shape[0], -1, -1)         # (N, 1, dim)
            x = library.cat((cls, x), dim=1) + self.pos_embed        # (N, 17, dim)
            x = self.norm(self.encoder(x))
            return self.head(x[:, 0])                                # (N, classes)

    return ViT()


NETWORKS = {"resnet": resnet, "mobilenet": mobilenet, "vit": vision_transformer}


def twins(name):
    torch.manual_seed(0)
    reference = NETWORKS[name](torch)
    mg.manual_seed(0)
    model = NETWORKS[name](mg)
    with torch.no_grad():  # the zero-initialised residual scales and class token moved, so that they matter
        for parameter in reference.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    return model, reference


def batch(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 4)


@pytest.mark.parametrize("name", NETWORKS)
def test_the_same_weights_give_torchs_outputs(name):
    model, reference = twins(name)
    assert list(model.state_dict()) == list(reference.state_dict())
    assert relative_error(*eval_outputs(model, reference, batch(0)[0])) < 1e-5


def recipe(library, model, steps):
    """Parameter groups (no weight decay on norms and biases), Nesterov SGD, linear warm-up then cosine decay,
    label smoothing, gradient clipping and an EMA of the weights; the losses and the clipped gradient norms."""
    decay = [p for name, p in model.named_parameters() if p.ndim > 1 and not name.endswith(("cls_token", "pos_embed"))]
    no_decay = [p for name, p in model.named_parameters() if not (p.ndim > 1 and not name.endswith(("cls_token",
                                                                                                      "pos_embed")))]
    optimizer = library.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                                  lr=0.05, momentum=0.9, nesterov=True)
    schedulers = library.optim.lr_scheduler
    warmup = schedulers.LinearLR(optimizer, start_factor=0.1, total_iters=2)
    cosine = schedulers.CosineAnnealingLR(optimizer, T_max=steps - 2)
    scheduler = schedulers.SequentialLR(optimizer, [warmup, cosine], milestones=[2])
    criterion = library.nn.CrossEntropyLoss(label_smoothing=0.1)
    ema = copy.deepcopy(model).eval()
    for parameter in ema.parameters():
        parameter.requires_grad_(False)
    losses, norms = [], []
    model.train()
    for step in range(steps):
        images, labels = batch(step + 1)
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(library.tensor(images)), library.tensor(labels))
        loss.backward()
        norms.append(float(library.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
        optimizer.step()
        scheduler.step()
        with library.no_grad():  # timm's ModelEmaV2: through the state dicts, so the running statistics too
            for ema_v, model_v in zip(ema.state_dict().values(), model.state_dict().values()):
                ema_v.copy_(0.9 * ema_v + (1.0 - 0.9) * model_v)
        losses.append(loss.item())
    return losses, norms, ema, optimizer.param_groups[0]["lr"]


@pytest.mark.parametrize("name", NETWORKS)
def test_a_training_recipe_keeps_torchs_losses_and_weights(name):
    """Four steps: losses, clipped gradient norms, the learning rate, the weights, BatchNorm's running statistics and
    the EMA's weights stay torch's (float32 rounding grows over the steps, hence the tolerances)."""
    model, reference = twins(name)
    (losses, norms, ema, lr), (their_losses, their_norms, their_ema, their_lr) = (
        recipe(library, network, steps=4) for library, network in ((mg, model), (torch, reference)))
    np.testing.assert_allclose(losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(norms, their_norms, rtol=1e-4)
    assert lr == pytest.approx(their_lr, rel=1e-12)
    for ours, theirs in ((model, reference), (ema, their_ema)):
        expected = theirs.state_dict()
        for key, value in ours.state_dict().items():
            assert relative_error(value.numpy(), expected[key].numpy()) < 1e-4, key


def gpt(library, vocab_size=50, block_size=16, n_layer=2, n_head=4, n_embd=32):
    """nanoGPT's model as its author writes it: a causal mask buffer, one projection split into q, k and v, views
    into heads, weight tying, and a scaled initialisation of the residual projections."""
    nn, F = library.nn, library.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.register_buffer("bias", library.tril(library.ones(block_size, block_size))
                                 .view(1, 1, block_size, block_size))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)  # (B, nh, T, hs)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ v                                             # (B, nh, T, hs)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(n_embd, 4 * n_embd), act=nn.GELU(approximate="tanh"),
                                          c_proj=nn.Linear(4 * n_embd, n_embd)))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            m = self.mlp
            return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
                h=nn.ModuleList([Block() for _ in range(n_layer)]), ln_f=nn.LayerNorm(n_embd)))
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("c_proj.weight"):
                    library.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                library.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    library.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                library.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            b, t = idx.size()
            pos = library.arange(0, t, dtype=library.long)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)  # (b, t, n_embd)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))            # (b, t, vocab_size)
            loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)),
                                                                targets.view(-1), ignore_index=-1)
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas):
            param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
            decay_params = [p for p in param_dict.values() if p.dim() >= 2]
            nodecay_params = [p for p in param_dict.values() if p.dim() < 2]
            groups = [{"params": decay_params, "weight_decay": weight_decay},
                      {"params": nodecay_params, "weight_decay": 0.0}]
            fused = "fused" in inspect.signature(library.optim.AdamW).parameters
            return library.optim.AdamW(groups, lr=learning_rate, betas=betas, **({"fused": False} if fused else {}))

        @library.no_grad()
        def generate(self, idx, max_new_tokens, top_k):
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -block_size:])
                logits = logits[:, -1, :]
                v, _ = library.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx = library.cat((idx, probs.argmax(-1, keepdim=True)), dim=1)  # greedy: no random draw to match
            return idx

    return GPT()


def test_nanogpt_trains_and_generates_as_torchs():
    """Weight tying holds (one parameter fewer than the modules hold), four AdamW steps keep torch's losses and
    weights, a target of -1 is ignored, and generation with top-k masking gives torch's tokens."""
    torch.manual_seed(0)
    reference = gpt(torch)
    model = gpt(mg)
    model.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    assert model.transformer.wte.weight is model.lm_head.weight
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    rng = np.random.default_rng(0)
    losses = {}
    for library, network in ((mg, model), (torch, reference)):
        optimizer = network.configure_optimizers(weight_decay=0.1, learning_rate=3e-3, betas=(0.9, 0.95))
        losses[library] = []
        for step in range(4):
            tokens = np.random.default_rng(step).integers(0, 50, (3, 17))
            targets = tokens[:, 1:].copy()
            targets[0, :4] = -1
            _, loss = network(library.tensor(tokens[:, :-1]), library.tensor(targets))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            library.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            losses[library].append(loss.item())
    np.testing.assert_allclose(losses[mg], losses[torch], rtol=1e-5)
    expected = reference.state_dict()
    for key, value in model.state_dict().items():
        ours, theirs = value.numpy(), expected[key].numpy()
        if key.endswith("c_attn.bias"):  # the keys' bias: softmax ignores it, so its gradient is rounding noise,
            ours, theirs = (np.delete(v, np.s_[32:64]) for v in (ours, theirs))  # which Adam scales up to steps
        assert relative_error(ours, theirs) < 1e-4, key
    prompt = rng.integers(0, 50, (2, 5))
    tokens = model.generate(mg.tensor(prompt), max_new_tokens=14, top_k=10).numpy()
    np.testing.assert_array_equal(tokens, reference.generate(torch.tensor(prompt), 14, top_k=10).numpy())
