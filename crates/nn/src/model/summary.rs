//! A Keras-`summary()`-like description of a model: layers, output shapes, parameter counts.

use crate::model::conv::LayerRef;
use crate::model::param::Param;
use crate::op::Activation;

/// One line of [`crate::on_device::Model::summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub layer: String,
    pub kind: String,
    pub output: String,
    pub params: usize,
}

impl<'a> LayerRef<'a> {
    pub(crate) fn summary(&self) -> SummaryRow {
        let layer_name = |p: &Param| p.name.trim_end_matches(".kernel").to_string();
        match self {
            LayerRef::Conv(c) => {
                let (h, w, ch) = c.output();
                let act = if c.activation == Activation::Relu { ", relu" } else { "" };
                let kind = if c.transpose { "Conv2DTranspose" } else { "Conv2D" };
                SummaryRow {
                    layer: layer_name(&c.kernel),
                    kind: format!("{kind} (k{}, s{}{act})", c.geometry.kernel, c.geometry.stride),
                    output: format!("(None, {h}, {w}, {ch})"),
                    params: c.kernel.len() + c.bias.len(),
                }
            }
            LayerRef::Dense(d) => SummaryRow {
                layer: layer_name(&d.kernel),
                kind: match d.activation {
                    Activation::Relu => "Dense (relu)".into(),
                    Activation::Sigmoid => "Dense (sigmoid)".into(),
                    Activation::Linear => "Dense".into(),
                },
                output: format!("(None, {})", d.outputs),
                params: d.kernel.len() + d.bias.len(),
            },
            LayerRef::Flatten(n) => SummaryRow {
                layer: "encoder.flatten".into(),
                kind: "Flatten".into(),
                output: format!("(None, {n})"),
                params: 0,
            },
            LayerRef::Reshape(h, w, c) => SummaryRow {
                layer: "decoder.reshape".into(),
                kind: "Reshape".into(),
                output: format!("(None, {h}, {w}, {c})"),
                params: 0,
            },
        }
    }
}
