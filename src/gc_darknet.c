#include "gc_darknet.h"

#include <assert.h>

const char *gc_darknet_type_name(LAYER_TYPE t)
{
    switch (t) {
    case CONVOLUTIONAL: return "convolutional";
    case DECONVOLUTIONAL: return "deconvolutional";
    case CONNECTED: return "connected";
    case MAXPOOL: return "maxpool";
    case SOFTMAX: return "softmax";
    case DETECTION: return "detection";
    case DROPOUT: return "dropout";
    case CROP: return "crop";
    case ROUTE: return "route";
    case COST: return "cost";
    case NORMALIZATION: return "normalization";
    case AVGPOOL: return "avgpool";
    case LOCAL: return "local";
    case SHORTCUT: return "shortcut";
    case ACTIVE: return "activation";
    case RNN: return "rnn";
    case GRU: return "gru";
    case LSTM: return "lstm";
    case CRNN: return "crnn";
    case BATCHNORM: return "batchnorm";
    case NETWORK: return "net";
    case XNOR: return "xnor";
    case REGION: return "region";
    case YOLO: return "yolo";
    case ISEG: return "iseg";
    case REORG: return "reorg";
    case UPSAMPLE: return "upsample";
    case LOGXENT: return "logistic";
    case L2NORM: return "l2norm";
    case BLANK: return "blank";
    }
    return "unknown";
}

int gc_darknet_is_head(const layer *l) { return l->type == YOLO || l->type == REGION || l->type == DETECTION; }

int gc_darknet_is_detector(const network *net)
{
    for (int i = 0; i < net->n; ++i) {
        if (gc_darknet_is_head(&net->layers[i])) return 1;
    }
    return 0;
}

int gc_darknet_layer_inputs(const network *net, int i, int *inputs, int max)
{
    assert(i >= 0 && i < net->n);
    const layer *l = &net->layers[i];
    int k = 0;
    if (l->type == ROUTE) {
        for (int j = 0; j < l->n; ++j) {
            if (k < max) inputs[k] = l->input_layers[j];
            ++k;
        }
        return k;
    }
    if (i > 0) {
        if (k < max) inputs[k] = i - 1;
        ++k;
    }
    if (l->type == SHORTCUT) {
        if (k < max) inputs[k] = l->index;
        ++k;
    }
    return k;
}

void gc_darknet_input_window(const network *net, int *x, int *y, int *w, int *h)
{
    *x = 0, *y = 0, *w = net->w, *h = net->h;
    if (net->n < 1 || net->layers[0].type != CROP) return;
    const layer *l = &net->layers[0];
    assert(l->w == net->w && l->h == net->h && l->out_w <= l->w && l->out_h <= l->h);
    *x = (l->w - l->out_w) / 2;
    *y = (l->h - l->out_h) / 2;
    *w = l->out_w;
    *h = l->out_h;
}
