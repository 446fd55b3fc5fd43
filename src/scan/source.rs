//! Where frames come from.
//!
//! A scan pulls frames from a [`FrameSource`] until a code is read. Three sources exist:
//!
//! - [`ImageFiles`]: image files or a folder of them, replayed once, in name order (tests,
//!   demos, and reproducing a field problem from frames saved by [`FailedScanRecorder`]).
//! - [`PushedFrames`]: frames the POS app pushes (JPEG, PNG, or the camera's own bytes: a grey or
//!   NV21 [`RawFrame`] whose rows may be padded) through a channel; on Android the app owns the
//!   camera and the daemon only sees these.
//! - `Camera` (cargo feature `camera`): a V4L2 camera, opened when the source is created and
//!   released when it is dropped, so it is held only while a scan runs.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageFormat};
use tokio::sync::mpsc;

#[cfg(feature = "camera")]
pub use camera::{Camera, CameraSettings};

/// One frame and where it came from (a file path, "pushed frame 3", "camera").
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: DynamicImage,
    pub origin: String,
}

/// Why a source could not give a frame.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read image file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable image: {source}")]
    NotAnImage {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("cannot list image folder {path}: {source}")]
    ListFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pushed frame {index} rejected: {reason}")]
    BadPushedFrame {
        index: u64,
        #[source]
        reason: PushedFrameError,
    },
    #[error("camera: {0}")]
    Camera(String),
}

impl SourceError {
    /// A bad frame is skipped and the scan goes on; anything else ends the scan.
    pub fn is_frame_only(&self) -> bool {
        matches!(
            self,
            SourceError::NotAnImage { .. } | SourceError::BadPushedFrame { .. }
        )
    }
}

/// A stream of frames. `Ok(None)` means the source has no more frames.
pub trait FrameSource: Send {
    fn next_frame(&mut self) -> impl Future<Output = Result<Option<Frame>, SourceError>> + Send;
}

/// Image files replayed once, in the given order.
#[derive(Debug)]
pub struct ImageFiles {
    remaining: VecDeque<PathBuf>,
}

impl ImageFiles {
    const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

    pub fn new(paths: impl IntoIterator<Item = PathBuf>) -> Self {
        Self {
            remaining: paths.into_iter().collect(),
        }
    }

    /// Every PNG and JPEG file directly in `folder`, sorted by name (saved frames are named so
    /// that this is the order they were captured in).
    pub fn from_folder(folder: &Path) -> Result<Self, SourceError> {
        let list_error = |source| SourceError::ListFolder {
            path: folder.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(list_error)? {
            let path = entry.map_err(list_error)?.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| Self::EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if is_image && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(Self::new(paths))
    }

    pub fn len(&self) -> usize {
        self.remaining.len()
    }

    pub fn is_empty(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// The largest image a frame may be, and the most memory its decoding may take: well above any
/// camera frame, far below what a small PNG of one colour can claim to be (a decompression bomb).
pub const MAX_FRAME_SIDE: u32 = 4096;
pub const MAX_DECODE_ALLOC: u64 = 64 * 1024 * 1024;

/// The image decoder's limits for frames and image files.
pub fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_FRAME_SIDE);
    limits.max_image_height = Some(MAX_FRAME_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Decodes `bytes` within [`decode_limits`]; `format` when known, else guessed.
fn decode_limited(bytes: &[u8], format: Option<ImageFormat>) -> image::ImageResult<DynamicImage> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
    match format {
        Some(format) => reader.set_format(format),
        None => reader = reader.with_guessed_format()?,
    }
    reader.limits(decode_limits());
    reader.decode()
}

/// Reads and decodes one image file, naming the path in any error. Decoding runs in the blocking
/// pool, within [`decode_limits`].
pub async fn load_image(path: &Path) -> Result<DynamicImage, SourceError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| SourceError::Read {
            path: path.to_owned(),
            source,
        })?;
    let decoded = tokio::task::spawn_blocking(move || decode_limited(&bytes, None))
        .await
        .unwrap_or_else(|panic| {
            Err(image::ImageError::IoError(std::io::Error::other(format!(
                "the decoder failed: {panic}"
            ))))
        });
    decoded.map_err(|source| SourceError::NotAnImage {
        path: path.to_owned(),
        source,
    })
}

impl FrameSource for ImageFiles {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let Some(path) = self.remaining.pop_front() else {
            return Ok(None);
        };
        let image = load_image(&path).await?;
        Ok(Some(Frame {
            image,
            origin: path.display().to_string(),
        }))
    }
}

/// A frame as the POS app sends it.
#[derive(Clone, PartialEq, Eq)]
pub enum PushedFrame {
    Jpeg(Vec<u8>),
    Png(Vec<u8>),
    /// Camera bytes as the app has them (grey or NV21, rows possibly padded), already checked.
    Raw(RawFrame),
}

impl std::fmt::Debug for PushedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushedFrame::Jpeg(bytes) => write!(f, "Jpeg({} bytes)", bytes.len()),
            PushedFrame::Png(bytes) => write!(f, "Png({} bytes)", bytes.len()),
            PushedFrame::Raw(raw) => write!(f, "Raw({raw:?})"),
        }
    }
}

/// How a raw frame's pixels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// The Y (luminance) plane alone.
    Grey,
    /// The Y plane, then the interleaved VU plane at half the height (Android's `NV21`).
    Nv21,
}

impl RawFormat {
    /// The format as `?format=` names it, with its article.
    fn with_article(self) -> &'static str {
        match self {
            RawFormat::Grey => "a grey",
            RawFormat::Nv21 => "an nv21",
        }
    }
}

/// The layout of a raw frame: the Y plane comes first, `height` rows of `stride` bytes of which
/// the first `width` are pixels (Camera2's `YUV_420_888` pads rows to a row stride).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    pub format: RawFormat,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
}

impl std::fmt::Display for RawLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} frame of {}x{} with rows of {} bytes",
            self.format.with_article(),
            self.width,
            self.height,
            self.stride
        )
    }
}

/// What was wrong with a raw frame's layout or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawFrameError {
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("the body is {actual} bytes; {layout} needs {least}")]
    BodyTooShort {
        layout: RawLayout,
        least: u64,
        actual: usize,
    },
    #[error("the body is {actual} bytes; {layout} takes at most {most}")]
    BodyTooLong {
        layout: RawLayout,
        most: u64,
        actual: usize,
    },
}

impl RawFrameError {
    /// The request parameter at fault; `None` when it is the body.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RawFrameError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl RawLayout {
    /// The largest width or height taken: a camera preview is far smaller, and the bound keeps
    /// every size computation small.
    pub const MAX_SIDE: u32 = 4096;
    /// The largest row stride taken: rows are padded to an alignment, never to twice their size.
    pub const MAX_STRIDE: u32 = 2 * Self::MAX_SIDE;

    /// Reads a layout from the request's parameters, as text so that each bad value is named:
    /// `format` is `grey` (the default) or `nv21`, `stride` defaults to the width.
    pub fn from_params(
        format: Option<&str>,
        width: Option<&str>,
        height: Option<&str>,
        stride: Option<&str>,
    ) -> Result<RawLayout, RawFrameError> {
        let bad = |field, problem: String| RawFrameError::Field { field, problem };
        let format = match format {
            None | Some("grey") => RawFormat::Grey,
            Some("nv21") => RawFormat::Nv21,
            Some(other) => return Err(bad("format", format!("{other:?} is not grey or nv21"))),
        };
        let side = |field, value: Option<&str>| {
            let value =
                value.ok_or_else(|| bad(field, "missing; a raw frame needs its size".into()))?;
            match value.parse::<u32>() {
                Ok(n) if (1..=Self::MAX_SIDE).contains(&n) => Ok(n),
                _ => Err(bad(
                    field,
                    format!(
                        "{value:?} is not a whole number from 1 to {}",
                        Self::MAX_SIDE
                    ),
                )),
            }
        };
        let width = side("width", width)?;
        let height = side("height", height)?;
        let stride = match stride {
            None => width,
            Some(value) => match value.parse::<u32>() {
                Ok(n) if (width..=Self::MAX_STRIDE).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "stride",
                        format!(
                            "{value:?} is not a whole number from the width ({width}) to {}",
                            Self::MAX_STRIDE
                        ),
                    ));
                }
            },
        };
        if format == RawFormat::Nv21 {
            // Each VU pair covers 2×2 pixels.
            for (field, n) in [("width", width), ("height", height)] {
                if n % 2 == 1 {
                    return Err(bad(field, format!("{n} is odd; nv21 needs even sides")));
                }
            }
        }
        Ok(RawLayout {
            format,
            width,
            height,
            stride,
        })
    }

    /// The body sizes this layout takes. The last row of a plane may come without its padding,
    /// as Camera2's plane buffers end; an NV21 body may also lack the VU plane's very last byte,
    /// as one made of Camera2's Y and V buffers does (the V buffer ends on its last V sample).
    fn body_sizes(&self) -> (u64, u64) {
        let (width, height, stride) = (
            u64::from(self.width),
            u64::from(self.height),
            u64::from(self.stride),
        );
        let plane = |rows: u64| (stride * rows, stride * (rows - 1) + width);
        match self.format {
            RawFormat::Grey => {
                let (full, least) = plane(height);
                (least, full)
            }
            RawFormat::Nv21 => {
                let (vu_full, vu_least) = plane(height / 2);
                (stride * height + vu_least - 1, stride * height + vu_full)
            }
        }
    }
}

/// A raw frame whose body fits its layout.
#[derive(Clone, PartialEq, Eq)]
pub struct RawFrame {
    layout: RawLayout,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for RawFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {} bytes", self.layout, self.bytes.len())
    }
}

impl RawFrame {
    /// Checks that `bytes` hold the frame `layout` describes, naming the sizes when not.
    pub fn new(layout: RawLayout, bytes: Vec<u8>) -> Result<RawFrame, RawFrameError> {
        let (least, most) = layout.body_sizes();
        let actual = bytes.len();
        if (actual as u64) < least {
            return Err(RawFrameError::BodyTooShort {
                layout,
                least,
                actual,
            });
        }
        if actual as u64 > most {
            return Err(RawFrameError::BodyTooLong {
                layout,
                most,
                actual,
            });
        }
        Ok(RawFrame { layout, bytes })
    }

    /// The Y plane as a grey image; the padding of each row and the VU plane are left out.
    pub fn into_grey(self) -> GrayImage {
        let RawLayout {
            width,
            height,
            stride,
            ..
        } = self.layout;
        let (w, h, stride) = (width as usize, height as usize, stride as usize);
        let mut pixels = self.bytes;
        if stride != w {
            // Row r moves from r × stride to r × width: never forward of where it is read.
            for row in 1..h {
                pixels.copy_within(row * stride..row * stride + w, row * w);
            }
        }
        pixels.truncate(w * h);
        GrayImage::from_raw(width, height, pixels).expect("the body was checked against the layout")
    }
}

/// What was wrong with a pushed frame.
#[derive(Debug, thiserror::Error)]
pub enum PushedFrameError {
    #[error("declared {declared} but the bytes are {actual:?}")]
    FormatMismatch {
        declared: &'static str,
        actual: ImageFormat,
    },
    #[error("declared {declared} but the bytes are not a known image format")]
    UnknownFormat { declared: &'static str },
    #[error("{declared} data is damaged or beyond the limits: {source}")]
    Damaged {
        declared: &'static str,
        #[source]
        source: image::ImageError,
    },
    #[error("the decoder failed on the frame: {0}")]
    DecoderFailed(String),
    #[error(
        "the {declared} is {width}x{height}; a frame is at most {MAX_FRAME_SIDE} pixels a side"
    )]
    TooLarge {
        declared: &'static str,
        width: u32,
        height: u32,
    },
    #[error("the {declared} is {width}x{height}: it has no pixels")]
    Empty {
        declared: &'static str,
        width: u32,
        height: u32,
    },
}

impl PushedFrame {
    /// Checks what can be checked before the frame is taken, from its header alone: that the
    /// bytes are the image format the app said, readable, and within [`MAX_FRAME_SIDE`]. The POS
    /// app hears at once what is wrong with a frame, rather than the scan timing out.
    pub fn check(&self) -> Result<(), PushedFrameError> {
        let (bytes, format, declared) = match self {
            PushedFrame::Jpeg(bytes) => (bytes, ImageFormat::Jpeg, "JPEG"),
            PushedFrame::Png(bytes) => (bytes, ImageFormat::Png, "PNG"),
            PushedFrame::Raw(_) => return Ok(()),
        };
        check_declared(bytes, format, declared)?;
        let (width, height) =
            image::ImageReader::with_format(std::io::Cursor::new(bytes.as_slice()), format)
                .into_dimensions()
                .map_err(|source| PushedFrameError::Damaged { declared, source })?;
        if width == 0 || height == 0 {
            return Err(PushedFrameError::Empty {
                declared,
                width,
                height,
            });
        }
        if width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
            return Err(PushedFrameError::TooLarge {
                declared,
                width,
                height,
            });
        }
        Ok(())
    }

    /// Decodes the frame, checking that the bytes are what the app said they are.
    pub fn decode(self) -> Result<DynamicImage, PushedFrameError> {
        match self {
            PushedFrame::Jpeg(bytes) => decode_declared(&bytes, ImageFormat::Jpeg, "JPEG"),
            PushedFrame::Png(bytes) => decode_declared(&bytes, ImageFormat::Png, "PNG"),
            PushedFrame::Raw(raw) => Ok(DynamicImage::ImageLuma8(raw.into_grey())),
        }
    }
}

fn decode_declared(
    bytes: &[u8],
    format: ImageFormat,
    declared: &'static str,
) -> Result<DynamicImage, PushedFrameError> {
    check_declared(bytes, format, declared)?;
    decode_limited(bytes, Some(format))
        .map_err(|source| PushedFrameError::Damaged { declared, source })
}

/// Whether the bytes are the image format the app said they are.
fn check_declared(
    bytes: &[u8],
    format: ImageFormat,
    declared: &'static str,
) -> Result<(), PushedFrameError> {
    match image::guess_format(bytes) {
        Ok(actual) if actual != format => {
            Err(PushedFrameError::FormatMismatch { declared, actual })
        }
        Ok(_) => Ok(()),
        Err(_) => Err(PushedFrameError::UnknownFormat { declared }),
    }
}

/// The POS app's end of a [`PushedFrames`] source.
pub type FrameSender = mpsc::Sender<PushedFrame>;

/// Frames pushed through a channel. The source ends when every sender is dropped.
#[derive(Debug)]
pub struct PushedFrames {
    receiver: mpsc::Receiver<PushedFrame>,
    received: u64,
}

impl PushedFrames {
    /// A source holding at most `capacity` frames not yet decoded; a camera that pushes faster
    /// than frames are decoded waits (or drops frames, its choice) rather than filling memory.
    pub fn channel(capacity: usize) -> (FrameSender, Self) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (
            sender,
            Self {
                receiver,
                received: 0,
            },
        )
    }
}

impl FrameSource for PushedFrames {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let Some(pushed) = self.receiver.recv().await else {
            return Ok(None);
        };
        self.received += 1;
        let index = self.received;
        // Off the async threads: a large or hostile frame takes its time (and, within the
        // limits, its memory) there, and a decoder panic ends only that task.
        let image = tokio::task::spawn_blocking(move || pushed.decode())
            .await
            .unwrap_or_else(|panic| Err(PushedFrameError::DecoderFailed(panic.to_string())))
            .map_err(|reason| SourceError::BadPushedFrame { index, reason })?;
        Ok(Some(Frame {
            image,
            origin: format!("pushed frame {index}"),
        }))
    }
}

/// Keeps the last frames of a scan and, if the scan fails, writes them to a folder as grey
/// PNG files that [`ImageFiles::from_folder`] replays.
///
/// Opt-in and bounded: at most `frames_per_scan` frames per failed scan and at most
/// `max_files` saved frames in the folder; once full, nothing more is written. Saved frames
/// are of scans that read nothing, but may still show a payment code, so the folder belongs
/// on the device only.
#[derive(Debug)]
pub struct FailedScanRecorder {
    folder: PathBuf,
    frames_per_scan: usize,
    max_files: usize,
    recent: VecDeque<GrayImage>,
    saved: u64,
}

/// Saved frames are named `failed-scan-<unix ms>-<running number>.png`, so name order is
/// capture order.
const SAVED_PREFIX: &str = "failed-scan-";

impl FailedScanRecorder {
    pub fn new(folder: PathBuf, frames_per_scan: usize, max_files: usize) -> Self {
        Self {
            folder,
            frames_per_scan,
            max_files,
            recent: VecDeque::with_capacity(frames_per_scan),
            saved: 0,
        }
    }

    /// Remembers `frame`, forgetting the oldest one beyond `frames_per_scan`.
    pub fn observe(&mut self, frame: &DynamicImage) {
        if self.frames_per_scan == 0 {
            return;
        }
        if self.recent.len() == self.frames_per_scan {
            self.recent.pop_front();
        }
        self.recent.push_back(frame.to_luma8());
    }

    /// Forgets the frames of a scan that succeeded.
    pub fn discard(&mut self) {
        self.recent.clear();
    }

    /// Writes the remembered frames, as far as the folder's bound allows; returns the paths.
    pub async fn save(&mut self) -> std::io::Result<Vec<PathBuf>> {
        let frames: Vec<GrayImage> = self.recent.drain(..).collect();
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        tokio::fs::create_dir_all(&self.folder).await?;
        let room = self.max_files.saturating_sub(self.saved_count().await?);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut written = Vec::new();
        for frame in frames.into_iter().take(room) {
            let path = self
                .folder
                .join(format!("{SAVED_PREFIX}{stamp}-{:04}.png", self.saved));
            self.saved += 1;
            let mut png = Vec::new();
            frame
                .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
                .map_err(std::io::Error::other)?;
            tokio::fs::write(&path, png).await?;
            written.push(path);
        }
        Ok(written)
    }

    async fn saved_count(&self) -> std::io::Result<usize> {
        let mut entries = tokio::fs::read_dir(&self.folder).await?;
        let mut count = 0;
        while let Some(entry) = entries.next_entry().await? {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(SAVED_PREFIX)
            {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(feature = "camera")]
mod camera {
    //! Capture runs on its own thread: `nokhwa`'s camera handle is not `Send`, and a blocking
    //! frame read must not stall the async runtime. The thread owns the device from open to
    //! release; dropping [`Camera`] tells it to stop and so releases the device.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use image::DynamicImage;
    use nokhwa::pixel_format::LumaFormat;
    use nokhwa::utils::{
        CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
    };
    use tokio::sync::mpsc;

    use super::{Frame, FrameSource, SourceError};

    /// Which camera and how to drive it; supplied by the hardware profile.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CameraSettings {
        /// V4L2 device number: 0 for `/dev/video0`.
        pub device: u32,
        pub width: u32,
        pub height: u32,
        pub frames_per_second: u32,
    }

    pub struct Camera {
        frames: mpsc::Receiver<Result<DynamicImage, String>>,
        stop: Arc<AtomicBool>,
    }

    impl Camera {
        /// Opens the camera on a capture thread. Failing to open shows up as the first frame's
        /// error.
        pub fn open(settings: CameraSettings) -> Self {
            let (sender, frames) = mpsc::channel(2);
            let stop = Arc::new(AtomicBool::new(false));
            let stop_flag = Arc::clone(&stop);
            std::thread::spawn(move || capture(settings, sender, stop_flag));
            Self { frames, stop }
        }
    }

    impl Drop for Camera {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn capture(
        settings: CameraSettings,
        sender: mpsc::Sender<Result<DynamicImage, String>>,
        stop: Arc<AtomicBool>,
    ) {
        let format =
            RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(CameraFormat::new(
                Resolution::new(settings.width, settings.height),
                FrameFormat::MJPEG,
                settings.frames_per_second,
            )));
        let device = settings.device;
        let opened = nokhwa::Camera::new(CameraIndex::Index(device), format).and_then(|mut c| {
            c.open_stream()?;
            Ok(c)
        });
        let mut camera = match opened {
            Ok(camera) => camera,
            Err(e) => {
                let _ = sender.blocking_send(Err(format!("cannot open /dev/video{device}: {e}")));
                return;
            }
        };
        while !stop.load(Ordering::Relaxed) {
            let frame = camera
                .frame()
                .and_then(|buffer| buffer.decode_image::<LumaFormat>())
                .map(DynamicImage::ImageLuma8)
                .map_err(|e| format!("reading /dev/video{device}: {e}"));
            let failed = frame.is_err();
            if sender.blocking_send(frame).is_err() || failed {
                break;
            }
        }
        let _ = camera.stop_stream();
    }

    impl FrameSource for Camera {
        async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
            match self.frames.recv().await {
                Some(Ok(image)) => Ok(Some(Frame {
                    image,
                    origin: "camera".to_owned(),
                })),
                Some(Err(message)) => Err(SourceError::Camera(message)),
                None => Ok(None),
            }
        }
    }
}
